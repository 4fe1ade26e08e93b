"""The SQLite results store: runs, evaluations, generations, cached architecture metrics.

``sqlite.py`` holds :class:`ResultsStore` (and its contract), ``hardware_jobs.py`` its hardware
jobs, ``schema.py`` the file (schema, migrations, opening, transactions), ``rows.py`` the rows it
returns, ``codec.py`` how the records in them are written and read back typed, and ``states.py``
the states it stores, as ``str`` enums.
"""

from faqnas_qiskit.store.codec import (
    CostFields,
    Decodable,
    Encodable,
    EvaluationFields,
    HardwareResultFields,
    TranspiledFields,
    decode,
    encode,
    present,
)
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
from faqnas_qiskit.store.states import (
    INFRASTRUCTURE_PREFIX,
    EvaluationStatus,
    FailureKind,
    HardwareJobStatus,
    RunStatus,
    TextEnum,
)

__all__ = [
    "INFRASTRUCTURE_PREFIX",
    "LEGACY_SAMPLES",
    "SCHEMA_VERSION",
    "CostFields",
    "Decodable",
    "Encodable",
    "EvaluationFields",
    "EvaluationStatus",
    "FailureKind",
    "GenerationRow",
    "HardwareJobRow",
    "HardwareJobStatus",
    "HardwareResultFields",
    "RepeatRow",
    "ResultsStore",
    "RunRow",
    "RunStatus",
    "StoreError",
    "StoredEvaluation",
    "StoredRepeat",
    "TextEnum",
    "TranspiledFields",
    "canonical_json",
    "decode",
    "encode",
    "present",
]
