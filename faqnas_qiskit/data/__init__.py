"""Datasets (scikit-learn's bundled sets, MNIST IDX files, CSV tables), split and standardised.

The entry point is ``load_dataset(spec, seed=...)``, which returns a frozen ``Dataset`` with
stratified 60/20/20 train/val/test splits standardised on the train split. This is the only layer
that reads files; it never downloads anything and never reads the environment.
"""

from __future__ import annotations

from faqnas_qiskit.data.datasets import CSV_PREFIX, DATASET_NAMES, load_dataset, load_raw
from faqnas_qiskit.data.idx import IDX_FILES, read_idx_images, read_idx_labels
from faqnas_qiskit.data.records import SPLITS, Dataset, RawData
from faqnas_qiskit.data.splits import (
    MIN_SAMPLES_PER_CLASS,
    SplitIndices,
    repeat_split,
    split_and_standardise,
    split_indices,
    stratified_subsample,
)
from faqnas_qiskit.data.tabular import read_csv_table

__all__ = [
    "CSV_PREFIX",
    "DATASET_NAMES",
    "IDX_FILES",
    "MIN_SAMPLES_PER_CLASS",
    "SPLITS",
    "Dataset",
    "RawData",
    "SplitIndices",
    "load_dataset",
    "load_raw",
    "read_csv_table",
    "read_idx_images",
    "read_idx_labels",
    "repeat_split",
    "split_and_standardise",
    "split_indices",
    "stratified_subsample",
]
