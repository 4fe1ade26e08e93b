"""The store's error kind."""

from __future__ import annotations

from faqnas_qiskit.errors import FaqnasError

__all__ = ["StoreError"]


class StoreError(FaqnasError):
    """The store file is missing, not a faqnas database, too new, or corrupt."""
