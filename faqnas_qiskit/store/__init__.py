"""The SQLite results store: runs, evaluations, generations, cached architecture metrics."""

from faqnas_qiskit.store.sqlite import (
    LEGACY_SAMPLES,
    SCHEMA_VERSION,
    GenerationRow,
    HardwareJobRow,
    RepeatRow,
    ResultsStore,
    RunRow,
    StoredEvaluation,
    StoredRepeat,
    StoreError,
    canonical_json,
)

__all__ = [
    "LEGACY_SAMPLES",
    "SCHEMA_VERSION",
    "GenerationRow",
    "HardwareJobRow",
    "RepeatRow",
    "ResultsStore",
    "RunRow",
    "StoreError",
    "StoredEvaluation",
    "StoredRepeat",
    "canonical_json",
]
