"""Helpers shared by the benchmark scripts: the machine description and Markdown tables.

Benchmarks are scripts, not library code: they print. These helpers only return values.
"""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from importlib import metadata

__all__ = ["PACKAGES", "CpuMeter", "machine_info", "markdown_table", "wait_for_idle_cpu"]

PACKAGES: tuple[str, ...] = (
    "faqnas-qiskit",
    "torch",
    "numpy",
    "qiskit",
    "qiskit-aer",
    "qiskit-machine-learning",
    "pennylane",
)


def _cpu_model() -> str:
    """``Model name`` from ``lscpu`` (falls back to ``platform.processor()``)."""
    try:
        out = subprocess.run(
            ["lscpu"], capture_output=True, text=True, check=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return platform.processor() or "unknown"
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _ram_gib() -> str:
    """Total RAM from ``/proc/meminfo``, in GiB."""
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _os_name() -> str:
    """``PRETTY_NAME`` from ``/etc/os-release`` and the kernel release."""
    pretty = platform.system()
    try:
        with open("/etc/os-release", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("PRETTY_NAME="):
                    pretty = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return f"{pretty} (kernel {platform.release()})"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info(packages: Sequence[str] = PACKAGES) -> dict[str, str]:
    """Describe the machine and the software a benchmark ran on.

    Args:
        packages: Distribution names whose installed versions are reported.

    Returns:
        Ordered ``{label: value}``: CPU model, cores, RAM, OS, Python, then one entry per
        package. Reading it imports none of the packages.
    """
    info = {
        "CPU": _cpu_model(),
        "cores": str(os.cpu_count()),
        "RAM": _ram_gib(),
        "OS": _os_name(),
        "Python": sys.version.split()[0],
    }
    for package in packages:
        info[package] = _version(package)
    return info


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub Markdown table with padded columns (first column left, others right aligned).

    Args:
        headers: Column titles.
        rows: Cells, already formatted, one sequence per row, each as long as ``headers``.

    Returns:
        The table, one line per row, without a trailing newline.
    """
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join("-" * (w + 1) + ":" if i else ":" + "-" * (w + 1) for i, w in enumerate(widths))
        + "|"
    )
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def _busy_and_total_seconds() -> tuple[float, float]:
    """CPU seconds spent busy and in total, summed over all CPUs since boot (``/proc/stat``)."""
    with open("/proc/stat", encoding="utf-8") as handle:
        ticks = [int(v) for v in handle.readline().split()[1:9]]
    # user nice system idle iowait irq softirq steal; guest time is already inside user
    idle = ticks[3] + ticks[4]
    hertz = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - idle) / hertz, sum(ticks) / hertz


def _own_cpu_seconds() -> float:
    """CPU seconds of this process and of its children that have been waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class CpuMeter:
    """How many CPU cores *other* processes kept busy between two readings.

    Benchmarks on a shared machine use it to show which measurements ran next to someone
    else's work. Linux only (``/proc/stat``); elsewhere :meth:`background_cores` is NaN.
    Children of this process count as its own once waited for.
    """

    def __init__(self) -> None:
        self._start = self._read()

    @staticmethod
    def _read() -> tuple[float, float, float, float] | None:
        try:
            busy, total = _busy_and_total_seconds()
        except (OSError, ValueError, IndexError):
            return None
        return busy, total, _own_cpu_seconds(), time.monotonic()

    def background_cores(self) -> float:
        """Mean number of cores busy with other processes since construction (or NaN)."""
        end = self._read()
        if self._start is None or end is None:
            return float("nan")
        busy = end[0] - self._start[0]
        own = end[2] - self._start[2]
        wall = end[3] - self._start[3]
        if wall <= 0:
            return float("nan")
        return max(busy - own, 0.0) / wall


def wait_for_idle_cpu(
    max_wait: float, threshold: float = 0.3, window: float = 2.0
) -> tuple[float, float]:
    """Wait until other processes keep fewer than ``threshold`` cores busy, at most ``max_wait`` s.

    Args:
        max_wait: Longest wait, seconds; 0 measures one window and returns.
        threshold: Background load (cores) below which the CPU counts as idle.
        window: Length of each measurement, seconds.

    Returns:
        (seconds waited, background cores in the last window).
    """
    start = time.monotonic()
    while True:
        meter = CpuMeter()
        time.sleep(window)
        load = meter.background_cores()
        waited = time.monotonic() - start
        if not load >= threshold or waited >= max_wait:  # NaN counts as idle
            return waited, load
