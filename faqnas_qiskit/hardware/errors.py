"""Errors of the hardware layer: a bad profile, a refused preflight, missing credentials.

All of them are :class:`~faqnas_qiskit.errors.FaqnasError` subclasses with the package's one-line
message shape, so the CLI prints them as one line and exits 2.
"""

from __future__ import annotations

from faqnas_qiskit.errors import ConfigError, FaqnasError

__all__ = ["CredentialsError", "HardwareError", "PreflightError", "ProfileError"]


class HardwareError(FaqnasError):
    """A re-evaluation cannot go on (the run has no trained weights, a job cannot be fetched)."""


class ProfileError(ConfigError):
    """A backend profile is unknown, unreadable, or has a field outside its rules."""


class PreflightError(ConfigError):
    """A re-evaluation was refused before anything was submitted (qubits, ISA, budget)."""


class CredentialsError(PreflightError):
    """Hardware was asked for, but no IBM Quantum service or credentials were given."""
