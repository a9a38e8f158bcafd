"""The data layer: datasets, vocabularies, loaders, filters and splitters.

``Dataset`` holds interactions (user x item, contiguous indices) with user and item
vocabularies and tables; loaders build one from MovieLens or generic files; filters derive
smaller datasets that keep the vocabularies; splitters return a ``Split`` (train, valid,
test) sharing the parent's vocabularies.
"""

from __future__ import annotations

from sensorec.data import errors
from sensorec.data.dataset import Dataset, Split, Vocabulary, build_dataset
from sensorec.data.download import ensure_movielens, resolve_data_dir
from sensorec.data.errors import (
    DataError,
    DataFormatError,
    DatasetNotFoundError,
    UnknownIdError,
)
from sensorec.data.filtering import compact, k_core, to_implicit
from sensorec.data.movielens import load_movielens
from sensorec.data.splitting import (
    SPLITTERS,
    leave_one_out,
    make_split,
    random_split,
    ratio_split,
    temporal_split,
)
from sensorec.data.tables import load_sequences, load_table

__all__ = [
    "SPLITTERS",
    "DataError",
    "DataFormatError",
    "Dataset",
    "DatasetNotFoundError",
    "Split",
    "UnknownIdError",
    "Vocabulary",
    "build_dataset",
    "compact",
    "ensure_movielens",
    "errors",
    "k_core",
    "leave_one_out",
    "load_movielens",
    "load_sequences",
    "load_table",
    "make_split",
    "random_split",
    "ratio_split",
    "resolve_data_dir",
    "temporal_split",
    "to_implicit",
]
