"""Reading a user's own table from a CSV file (standard library ``csv``; no pandas).

The file needs a header row. One column, named by ``target``, holds the class labels (strings or
numbers); every other column is a feature and every feature cell must parse as a finite float.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

from faqnas_qiskit.data.records import RawData
from faqnas_qiskit.errors import ConfigError, DataError, invalid

__all__ = ["read_csv_table"]

logger = logging.getLogger(__name__)


def _label_sort_key(label: str) -> tuple[float, str]:
    return (float(label), label)


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _sorted_labels(labels: set[str]) -> list[str]:
    """Numbers in numeric order when every label is a number ("2" before "10"), else text order."""
    if all(_is_number(label) for label in labels):
        return sorted(labels, key=_label_sort_key)
    return sorted(labels)


def read_csv_table(path: str | os.PathLike[str], *, target: str | None) -> RawData:
    """Read a labelled table from a CSV file.

    Class indices follow the sorted order of the distinct labels (numeric order if every label
    is a number, otherwise string order); ``class_names`` are the labels as written. Blank lines
    are skipped; cells are stripped of surrounding spaces; a UTF-8 byte-order mark is ignored.

    Args:
        path: The CSV file; relative paths are taken from the current directory.
        target: Name of the label column.

    Returns:
        ``RawData`` named ``"csv:<absolute path>"`` with ``float64`` features of shape
        ``(n_rows, n_columns - 1)`` (columns in file order, target removed) and ``int64`` labels.

    Raises:
        ConfigError: If ``target`` is None (the message lists the columns).
        DataError: If the file is missing or unreadable, empty, has duplicate or no feature
            columns, lacks the target column (the message lists the columns), a row has the
            wrong number of cells, a feature cell is not a finite number (the message names line
            and column), a label is empty, or there are fewer than 2 classes.
    """
    resolved = Path(path).expanduser().resolve()
    rows = _read_rows(resolved)
    columns = [c.strip() for c in rows[0][1]]
    t = _target_index(columns, target, resolved)
    features, raw_labels = _parse_body(rows[1:], columns, t, resolved)
    labels, class_names = _encode_labels(raw_labels, columns[t], resolved)
    logger.debug(
        "Read %s: %d rows, %d features, %d classes",
        resolved,
        features.shape[0],
        features.shape[1],
        len(class_names),
    )
    return RawData(
        name=f"csv:{resolved}", features=features, labels=labels, class_names=class_names
    )


def _read_rows(resolved: Path) -> list[tuple[int, list[str]]]:
    """Non-blank rows with the file line each ends on; at least a header and one data row."""
    if not resolved.is_file():
        raise DataError(
            invalid(
                "dataset",
                "csv:PATH with PATH an existing CSV file",
                str(resolved),
                "Check the path after 'csv:' (relative paths start at the current directory).",
            )
        )
    try:
        with resolved.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            rows = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(
            invalid(
                str(resolved),
                "a readable UTF-8 CSV file",
                type(exc).__name__,
                f"Fix or re-export the file ({exc}).",
                what="file",
            )
        ) from exc
    if len(rows) < 2:
        raise DataError(
            invalid(
                str(resolved),
                "a CSV file with a header row and at least one data row; non-blank rows",
                len(rows),
                "Add a header row naming the columns, then one row per sample.",
                what="file",
            )
        )
    return rows


def _target_index(columns: list[str], target: str | None, resolved: Path) -> int:
    """Position of the target column, after checking the header."""
    listed = ", ".join(repr(c) for c in columns)
    if target is None:
        raise ConfigError(
            invalid(
                "target",
                f"the name of the label column when loading 'csv:{resolved}'",
                None,
                f"Pass --target COLUMN (the columns are {listed}).",
            )
        )
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise DataError(
            invalid(
                str(resolved),
                "a CSV file whose header names each column once; duplicated",
                tuple(duplicates),
                "Rename the duplicated columns.",
                what="file",
            )
        )
    if target not in columns:
        raise DataError(
            invalid(
                "target",
                f"one of the columns of {resolved.name}: {listed}",
                target,
                "Pass --target with one of these column names (spelling and case matter).",
            )
        )
    if len(columns) < 2:
        raise DataError(
            invalid(
                str(resolved),
                "a CSV file with at least one feature column besides the target",
                tuple(columns),
                "Add feature columns.",
                what="file",
            )
        )
    return columns.index(target)


def _parse_body(
    rows: list[tuple[int, list[str]]], columns: list[str], t: int, resolved: Path
) -> tuple[npt.NDArray[np.float64], list[str]]:
    """Features ``(n_rows, n_columns - 1)`` float64 and the label strings, one per row."""
    features = np.empty((len(rows), len(columns) - 1), dtype=np.float64)
    feature_positions = [i for i in range(len(columns)) if i != t]
    labels: list[str] = []
    for r, (line, row) in enumerate(rows):
        if len(row) != len(columns):
            raise DataError(
                invalid(
                    f"line {line}",
                    f"a row of {len(columns)} cells, one per header column, in {resolved}",
                    len(row),
                    "Fix the row (a missing or extra separator, or an unquoted comma).",
                    what="row",
                )
            )
        label = row[t].strip()
        if not label:
            raise DataError(
                invalid(
                    columns[t],
                    f"a non-empty label on line {line} of {resolved}",
                    row[t],
                    "Fill in the label or drop the row.",
                    what="column",
                )
            )
        labels.append(label)
        for j, i in enumerate(feature_positions):
            features[r, j] = _parse_cell(row[i], columns[i], line, columns[t], resolved)
    return features, labels


def _parse_cell(cell: str, column: str, line: int, target: str, resolved: Path) -> float:
    try:
        value = float(cell.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise DataError(
            invalid(
                column,
                f"a finite number on line {line} of {resolved} (every column but the "
                f"target {target!r} is a feature)",
                cell,
                "Fix the cell, drop the row, or drop the column.",
                what="column",
            )
        )
    return value


def _encode_labels(
    raw_labels: list[str], target: str, resolved: Path
) -> tuple[npt.NDArray[np.int64], tuple[str, ...]]:
    """Class indices ``(n_rows,)`` int64 in sorted label order, and the class names."""
    class_names = tuple(_sorted_labels(set(raw_labels)))
    if len(class_names) < 2:
        raise DataError(
            invalid(
                target,
                f"a label column with at least 2 distinct labels in {resolved}",
                class_names,
                "A classifier needs two classes or more: check the target column.",
                what="column",
            )
        )
    index = {label: k for k, label in enumerate(class_names)}
    labels = np.fromiter(
        (index[label] for label in raw_labels), dtype=np.int64, count=len(raw_labels)
    )
    return labels, class_names
