"""One entry point for every data source: :func:`load_dataset`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sensorec.data.dataset import Dataset

BUILTIN = ("synthetic", "ml-100k", "ml-1m")


def load_dataset(name: str, data_dir: str | Path | None = None, **options: Any) -> Dataset:
    """Load a data set by name or path.

    - ``"synthetic"``: the library's generated data set (options go to ``SyntheticConfig``).
    - ``"ml-100k"``, ``"ml-1m"``: MovieLens from ``data_dir`` / ``$SENSOREC_DATA`` / the user
      cache (downloaded from GroupLens when absent).
    - a path to ``.csv`` / ``.tsv`` / ``.parquet``: a generic interaction table (options:
      ``user_col``, ``item_col``, ``rating_col``, ``timestamp_col``; defaults
      ``user_id``, ``item_id``, ``rating``, ``timestamp`` when present).
    - a path to ``.txt``: the SASRec/BERT4Rec sequence format.
    """
    if name == "synthetic":
        from sensorec.data.synthetic import make_synthetic

        return make_synthetic(**options)
    if name in ("ml-100k", "ml-1m"):
        from sensorec.data.movielens import load_movielens

        return load_movielens(name, data_dir=data_dir, **options)  # type: ignore[arg-type]
    path = Path(name)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".parquet"):
        from sensorec.data.tables import load_table

        if not options:
            options = _default_columns(path)
        return load_table(path, **options)
    if suffix == ".txt":
        from sensorec.data.tables import load_sequences

        return load_sequences(path, **options)
    raise ValueError(
        f"unknown dataset {name!r}: use one of {', '.join(BUILTIN)} or a path to a "
        ".csv/.tsv/.parquet interaction table or a .txt sequence file"
    )


def _default_columns(path: Path) -> dict[str, Any]:
    import pandas as pd

    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        cols = pq.read_schema(path).names
    else:
        cols = list(pd.read_csv(path, sep=None, engine="python", nrows=0).columns)
    out: dict[str, Any] = {"user_col": "user_id", "item_col": "item_id"}
    for key, col in (("rating_col", "rating"), ("timestamp_col", "timestamp")):
        if col in cols:
            out[key] = col
    return out
