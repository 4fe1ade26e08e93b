"""The command's side of a Dask cluster: its logs kept quiet, a client of a given address."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from faqnas_qiskit.errors import ClusterError, ConfigError, invalid

if TYPE_CHECKING:
    import distributed

__all__ = ["check_scheduler_address", "dask_client", "quiet_dask"]


def quiet_dask() -> None:
    """Silence dask.distributed's own logs: its errors reach the user as one ClusterError line.

    Dask configures some child loggers (``distributed.client`` among them) with their own
    levels, so the parent's level alone does not cover them.
    """
    names = [n for n in logging.root.manager.loggerDict if n.startswith("distributed.")]
    for name in ["distributed", *names]:
        logging.getLogger(name).setLevel(logging.CRITICAL)


_FIX = "Pass the address that 'dask scheduler' prints, e.g. --scheduler tcp://HOST:8786."


def check_scheduler_address(address: str) -> None:
    """Check the form of a Dask scheduler's address before any work, without connecting.

    ``distributed.Client`` given a malformed address raises, and then prints a traceback from
    its ``__del__`` ten seconds later: a second message after the one line. So the form is
    checked here first (scheme, host and port for the TCP-like schemes); whether a scheduler
    answers is :func:`dask_client`'s and the evaluator's business. Without dask.distributed
    nothing is checked (the command that needs it says how to install it).

    Raises:
        ConfigError: For an empty or malformed address.
    """
    if not address.strip():
        raise ConfigError(
            invalid("scheduler", "the address of a Dask scheduler", address, _FIX, what="option")
        )
    try:
        from distributed.comm.addressing import get_address_host_port, parse_address
    except ImportError:
        return
    try:
        scheme, _ = parse_address(address)
        if scheme in ("tcp", "tls", "ws", "wss"):  # the schemes with a host:port location
            get_address_host_port(address)
        else:
            from distributed.comm.registry import get_backend

            get_backend(scheme)  # an unknown scheme: ValueError
    except ValueError as exc:
        raise ConfigError(
            invalid(
                "scheduler",
                f"the address of a Dask scheduler ({exc})",
                address,
                _FIX,
                what="option",
            )
        ) from None


def dask_client(address: str, *, quiet: bool, timeout_s: float = 5.0) -> distributed.Client:
    """A ``distributed.Client`` of the Dask scheduler at ``address`` with at least one worker.

    Raises:
        ConfigError: For a malformed address, or without the dask extra.
        ClusterError: When no scheduler answers, or it has no worker within 30 s.
    """
    try:
        import distributed
    except ImportError as missing:
        raise ConfigError(
            "Computing on a Dask cluster (--scheduler) needs dask.distributed, which is not "
            f"installed ({missing}). Install it with: pip install 'faqnas-qiskit[dask]'."
        ) from None
    if quiet:
        quiet_dask()
    check_scheduler_address(address)
    fix = _FIX
    try:
        client = distributed.Client(address, timeout=timeout_s, set_as_default=False)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            invalid(
                "scheduler", f"the address of a Dask scheduler ({exc})", address, fix, what="option"
            )
        ) from None
    except (OSError, TimeoutError) as exc:
        raise ClusterError(
            f"No Dask scheduler answered at {address!r} within {timeout_s:g} s. Start one with "
            "'dask scheduler' (it prints its address) and workers with 'dask worker ADDRESS'."
        ) from exc
    try:
        client.wait_for_workers(1, timeout=30.0)
    except (OSError, TimeoutError) as exc:
        client.close()
        raise ClusterError(
            f"The Dask scheduler at {address!r} must have at least one worker. Got none within "
            f"30 s. Start workers with 'dask worker {address}'."
        ) from exc
    return client
