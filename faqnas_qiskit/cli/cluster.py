"""The command's side of a Dask cluster: its logs kept quiet, a client of a given address."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from faqnas_qiskit.errors import ClusterError, ConfigError, invalid

if TYPE_CHECKING:
    import distributed

__all__ = ["dask_client", "quiet_dask"]


def quiet_dask() -> None:
    """Silence dask.distributed's own logs: its errors reach the user as one ClusterError line.

    Dask configures some child loggers (``distributed.client`` among them) with their own
    levels, so the parent's level alone does not cover them.
    """
    names = [n for n in logging.root.manager.loggerDict if n.startswith("distributed.")]
    for name in ["distributed", *names]:
        logging.getLogger(name).setLevel(logging.CRITICAL)


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
    fix = "Pass the address that 'dask scheduler' prints, e.g. --scheduler tcp://HOST:8786."
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
