"""Reports: pure data extraction (tables, headline numbers) and rendering (plots, HTML, MD)."""

from faqnas_qiskit.report.analysis import (
    Correlation,
    Point,
    Saving,
    flops_savings,
    flops_threshold,
    mean_saving,
    spearman,
)
from faqnas_qiskit.report.data import (
    CandidateRow,
    HardwareRow,
    ReportData,
    RunSnapshot,
    build_report,
    flops_front,
    snapshot,
)
from faqnas_qiskit.report.render import ReportError, write_report

__all__ = [
    "CandidateRow",
    "Correlation",
    "HardwareRow",
    "Point",
    "ReportData",
    "ReportError",
    "RunSnapshot",
    "Saving",
    "build_report",
    "flops_front",
    "flops_savings",
    "flops_threshold",
    "mean_saving",
    "snapshot",
    "spearman",
    "write_report",
]
