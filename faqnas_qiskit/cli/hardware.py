"""``faqnas hardware``: re-evaluate a run's trained architectures on a simulator or IBM Quantum.

Reads IBM Quantum's credentials from the environment (here only), and hides the token from
every log record.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from faqnas_qiskit.cli.command import Command
from faqnas_qiskit.cli.options import (
    CHANNEL_ENV,
    INSTANCE_ENV,
    TOKEN_ENV,
    add_store_option,
    store_path,
)
from faqnas_qiskit.cli.output import HardwareProgress, print_hardware, print_json, print_plan

if TYPE_CHECKING:
    from faqnas_qiskit.hardware import IBMCredentials

__all__ = ["COMMAND"]


def _add_arguments(hardware: argparse.ArgumentParser) -> None:
    hardware.add_argument("run", metavar="RUN", help="run id (see 'faqnas runs')")
    hardware.add_argument(
        "--backend",
        required=True,
        metavar="NAME",
        help="a profile from 'faqnas backends' (aer, fake_fez, ibm_fez, ...) or a .toml file",
    )
    which = hardware.add_mutually_exclusive_group()
    which.add_argument("--front", action="store_true", help="the run's Pareto front (default)")
    which.add_argument("--genome", nargs="+", metavar="G", help="these architectures of the run")
    hardware.add_argument("--shots", type=int, help="shots per circuit (default: the profile's)")
    hardware.add_argument(
        "--samples", type=int, help="first N test samples only (default: the whole test split)"
    )
    hardware.add_argument(
        "--max-qpu-seconds",
        type=float,
        metavar="S",
        help="budget of predicted QPU seconds for this call (default: the profile's limit)",
    )
    hardware.add_argument(
        "--dry-run", action="store_true", help="check and price the run; submit nothing"
    )
    hardware.add_argument(
        "--resume", action="store_true", help="fetch jobs submitted earlier by their stored ids"
    )
    hardware.add_argument(
        "--retry-failed", action="store_true", help="submit again the architectures that failed"
    )
    hardware.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="stop waiting after S seconds (jobs stay stored; --resume later)",
    )
    hardware.add_argument(
        "--account", metavar="NAME", help=f"a saved Qiskit account (instead of ${TOKEN_ENV})"
    )
    add_store_option(hardware)
    hardware.add_argument("--json", action="store_true", help="print one JSON object")


def _ibm_credentials(args: argparse.Namespace) -> IBMCredentials:
    """Credentials from the environment (read here only); the token is hidden from every log."""
    from faqnas_qiskit.hardware import IBMCredentials, SecretFilter

    token = os.environ.get(TOKEN_ENV) or None
    if token is not None:
        # no log record of any library may show it, whichever handler writes it (qiskit-ibm-
        # runtime installs its own): scrub every record as it is made
        redact = SecretFilter(token)
        make_record = logging.getLogRecordFactory()

        def scrubbed(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make_record(*args, **kwargs)
            redact.filter(record)
            return record

        logging.setLogRecordFactory(scrubbed)
    use_token = token is not None and args.account is None
    return IBMCredentials(
        token=token if use_token else None,
        instance=os.environ.get(INSTANCE_ENV) or None,
        channel=os.environ.get(CHANNEL_ENV) or "ibm_quantum_platform",
        account=args.account,
        use_saved_account=not use_token and args.account is None,
    )


def _run(args: argparse.Namespace) -> int:
    from faqnas_qiskit.hardware import (
        ReevaluationRequest,
        load_profile,
        make_adapter,
        reevaluate,
    )
    from faqnas_qiskit.store import ResultsStore

    profile = load_profile(args.backend)
    credentials = _ibm_credentials(args) if profile.is_hardware else None
    if not args.debug:  # its warnings ("Loading account with the given token") are not ours
        logging.getLogger("qiskit_ibm_runtime").setLevel(logging.ERROR)
    with ResultsStore(store_path(args), create=False) as store:
        try:
            request = ReevaluationRequest(
                args.run,
                profile,
                keys=args.genome,
                shots=args.shots,
                samples=args.samples,
                max_qpu_seconds=args.max_qpu_seconds,
                dry_run=args.dry_run,
                resume=args.resume,
                retry_failed=args.retry_failed,
                timeout_s=args.timeout,
            )
            adapter = make_adapter(profile, credentials=credentials)
            result = reevaluate(request, store, adapter, progress=HardwareProgress(quiet=args.json))
        except KeyboardInterrupt:
            print(
                "faqnas: submitted job ids are stored; run the same command with --resume",
                file=sys.stderr,
            )
            raise
    if args.json:
        print_json(result.to_dict())
    elif result.dry_run:
        print_plan(result.plan)
    else:
        print_hardware(result)
    return 1 if result.failures else 0


COMMAND = Command(
    name="hardware",
    help="re-evaluate a run's trained architectures on a simulator or IBM Quantum",
    description=(
        "Evaluate the trained architectures of a run (its Pareto front by default) forward-"
        "only on the test split on a backend profile: ideal Aer (aer), noisy simulation from "
        "a fake IBM backend (fake_fez, ...), or IBM Quantum hardware (ibm_fez, ...) in batch "
        "mode, one job per architecture. Preflight checks qubits, ISA, credentials and the "
        "predicted QPU seconds before anything is submitted; job ids are stored the moment "
        "a job is accepted, and --resume fetches them instead of paying twice. Hardware "
        f"reads ${TOKEN_ENV} (and ${INSTANCE_ENV}, ${CHANNEL_ENV}) or a saved Qiskit account."
    ),
    add_arguments=_add_arguments,
    run=_run,
    loads_torch=True,
)
