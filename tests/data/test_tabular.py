"""A user's own CSV table: parsing, label mapping and every error a user can make."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faqnas_qiskit.data import load_dataset, read_csv_table
from faqnas_qiskit.errors import ConfigError, DataError


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _table(n_per_class: int = 5, labels: tuple[str, ...] = ("spam", "ham", "eggs")) -> str:
    lines = ["a,kind,b"]
    for k, label in enumerate(labels):
        for i in range(n_per_class):
            lines.append(f"{k * 10 + i},{label},{-(k * 10 + i) / 4}")
    return "\n".join(lines) + "\n"


def test_string_target_is_mapped_in_sorted_order(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", _table())
    raw = read_csv_table(path, target="kind")
    assert raw.class_names == ("eggs", "ham", "spam")
    assert raw.name == f"csv:{path.resolve()}"
    assert raw.features.dtype == np.float64 and raw.features.shape == (15, 2)
    # The first row is "0,spam,-0.0": the target column is removed, columns keep file order.
    np.testing.assert_array_equal(raw.features[0], [0.0, -0.0])
    np.testing.assert_array_equal(raw.features[6], [11.0, -2.75])
    assert raw.labels.tolist() == [2] * 5 + [1] * 5 + [0] * 5


def test_numeric_labels_sort_numerically(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", "x,y\n1,10\n2,2\n3,1\n")
    raw = read_csv_table(path, target="y")
    assert raw.class_names == ("1", "2", "10")
    assert raw.labels.tolist() == [2, 1, 0]


def test_csv_loads_through_load_dataset(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", _table())
    ds = load_dataset(f"csv:{path}", seed=0, target="kind")
    assert ds.sizes == {"train": 9, "val": 3, "test": 3}
    assert ds.class_names == ("eggs", "ham", "spam")
    assert ds.name == f"csv:{path.resolve()}"
    for split in ("val", "test"):
        assert sorted(getattr(ds, f"y_{split}").tolist()) == [0, 1, 2]


def test_spaces_blank_lines_and_bom_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("\ufeff x , label \n 1.5 , a \n\n2,b\n".encode())
    raw = read_csv_table(path, target="label")
    assert raw.features[:, 0].tolist() == [1.5, 2.0]
    assert raw.class_names == ("a", "b")


def test_missing_target_column_lists_the_columns(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", _table())
    with pytest.raises(DataError, match=r"'target' parameter .*'a', 'kind', 'b'.*Got 'Kind'"):
        read_csv_table(path, target="Kind")


def test_target_not_given_is_a_config_error_listing_columns(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", _table())
    with pytest.raises(ConfigError, match=r"Got None instead\. Pass --target COLUMN .*'kind'"):
        load_dataset(f"csv:{path}", seed=0)


@pytest.mark.parametrize("cell", ["abc", "", "nan", "inf"])
def test_non_numeric_feature_cell_names_line_and_column(tmp_path: Path, cell: str) -> None:
    text = _table().splitlines()
    text[3] = f"2,spam,{cell}"  # line 4 of the file
    path = _write(tmp_path / "t.csv", "\n".join(text))
    with pytest.raises(DataError) as info:
        read_csv_table(path, target="kind")
    message = str(info.value)
    assert message.startswith("The 'b' column must be a finite number on line 4")
    assert f"Got {cell!r} instead" in message


def test_fewer_than_two_classes_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", _table(labels=("only",)))
    with pytest.raises(DataError, match="at least 2 distinct labels"):
        read_csv_table(path, target="kind")


@pytest.mark.parametrize("text", ["", "\n\n", "a,kind\n"])
def test_empty_or_header_only_file_is_an_error(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path / "t.csv", text)
    with pytest.raises(DataError, match="header row and at least one data row"):
        read_csv_table(path, target="kind")


def test_ragged_row_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", "a,kind,b\n1,x,2\n1,y\n")
    with pytest.raises(DataError, match=r"'line 3' row must be a row of 3 cells.*Got 2 instead"):
        read_csv_table(path, target="kind")


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="existing CSV file"):
        load_dataset(f"csv:{tmp_path / 'absent.csv'}", seed=0, target="kind")


def test_only_a_target_column_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", "kind\na\nb\n")
    with pytest.raises(DataError, match="at least one feature column"):
        read_csv_table(path, target="kind")


def test_duplicate_column_names_are_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", "a,a,kind\n1,2,x\n")
    with pytest.raises(DataError, match="each column once"):
        read_csv_table(path, target="kind")


def test_empty_label_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", "a,kind\n1,x\n2, \n")
    with pytest.raises(DataError, match="non-empty label on line 3"):
        read_csv_table(path, target="kind")


def test_small_class_in_a_csv_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", _table() + "99,rare,1\n99,rare,2\n")
    with pytest.raises(DataError, match=r"The 'rare' class .* Got 2 instead"):
        load_dataset(f"csv:{path}", seed=0, target="kind")
