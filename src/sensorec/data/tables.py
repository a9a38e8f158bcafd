"""Generic interaction files: CSV / TSV / Parquet tables and SASRec-style sequence files.

Both loaders return a :class:`~sensorec.data.dataset.Dataset` whose vocabularies hold the ids
in order of first appearance. Bad input raises :class:`~sensorec.data.errors.DataFormatError`
naming the file and the 1-based line (for text tables the header is line 1, so the first data
row is line 2; for Parquet, which has no lines, the error names the 1-based row instead).

Duplicated (user, item) pairs follow a documented, counted policy (``duplicates``):

- ``"keep"`` (default): keep every row (repeat consumption is data);
- ``"first"`` / ``"last"``: keep the first / last row of each pair **in file order**;
- ``"error"``: raise :class:`DataFormatError` at the first repeated pair.

The count lands in ``Dataset.meta["duplicates"]`` as
``{"policy": ..., "count": rows repeating an earlier pair, "dropped": rows removed}``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sensorec.data.dataset import Dataset, build_dataset
from sensorec.data.errors import DataFormatError

DuplicatePolicy = Literal["keep", "first", "last", "error"]
DUPLICATE_POLICIES = ("keep", "first", "last", "error")

_COMPRESSION_SUFFIXES = {".gz", ".bz2", ".xz", ".zip", ".zst"}


# -- shared helpers (also used by the MovieLens loader) ----------------------------------------
def check_duplicate_policy(policy: str) -> None:
    if policy not in DUPLICATE_POLICIES:
        raise ValueError(f"duplicates must be one of {DUPLICATE_POLICIES}, got {policy!r}")


def apply_duplicate_policy(
    frame: pd.DataFrame,
    policy: DuplicatePolicy,
    *,
    path: str | Path,
    line_of: Callable[[int], int | None],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Apply ``policy`` to repeated (``user_id``, ``item_id``) rows of ``frame``.

    ``line_of(row)`` maps a 0-based row position to the 1-based line (for the error message).
    Returns the frame (positional index kept) and the ``meta["duplicates"]`` record.
    """
    check_duplicate_policy(policy)
    # One int64 key per (user, item) pair: hashing it is much faster than duplicated(subset).
    user_codes = pd.factorize(frame["user_id"].to_numpy())[0].astype(np.int64)
    item_codes = pd.factorize(frame["item_id"].to_numpy())[0].astype(np.int64)
    pair = pd.Series(user_codes * (int(item_codes.max(initial=0)) + 1) + item_codes)
    repeated = pair.duplicated(keep="first").to_numpy()
    count = int(repeated.sum())
    if count and policy == "error":
        row = int(np.flatnonzero(repeated)[0])
        user, item = frame["user_id"].iloc[row], frame["item_id"].iloc[row]
        same = (frame["user_id"].to_numpy() == user) & (frame["item_id"].to_numpy() == item)
        first = int(np.flatnonzero(same)[0])
        raise DataFormatError(
            path,
            line_of(row),
            f"(user {user!r}, item {item!r}) repeats the pair of line {line_of(first)} "
            f"({count} repeated rows in all); pass duplicates='keep', 'first' or 'last'",
        )
    if count and policy == "first":
        frame = frame[~repeated]
    elif count and policy == "last":
        frame = frame[~pair.duplicated(keep="last").to_numpy()]
    dropped = count if policy in ("first", "last") else 0
    return frame, {"policy": policy, "count": count, "dropped": dropped}


def _infer_format(path: Path, sep: str | None) -> str:
    """``"parquet"`` or a text separator."""
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] in _COMPRESSION_SUFFIXES:
        suffixes.pop()
    ext = suffixes[-1] if suffixes else ""
    if ext in (".parquet", ".pq"):
        return "parquet"
    if sep is not None:
        return sep
    if ext == ".csv":
        return ","
    if ext in (".tsv", ".tab"):
        return "\t"
    raise ValueError(
        f"cannot infer the format of {path} from its extension {ext or '(none)'}: "
        "use .csv, .tsv or .parquet, or pass sep="
    )


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _ids(
    col: pd.Series, *, what: str, path: Path, where: Callable[[int], tuple[int | None, str]]
) -> np.ndarray:
    """Validated raw ids: int64 for integer columns (integral floats included), else str."""
    values = col.to_numpy()
    missing = pd.isna(col).to_numpy()
    if missing.any():
        line, prefix = where(_first_bad(missing))
        raise DataFormatError(path, line, f"{prefix}missing {what} id")
    if pd.api.types.is_bool_dtype(col):
        line, prefix = where(0)
        raise DataFormatError(path, line, f"{prefix}{what} ids are booleans")
    if pd.api.types.is_integer_dtype(col):
        return values.astype(np.int64)
    if pd.api.types.is_float_dtype(col):
        frac = values != np.floor(values)
        if frac.any():
            row = _first_bad(frac)
            line, prefix = where(row)
            raise DataFormatError(
                path, line, f"{prefix}{what} id {values[row]!r} is not an integer"
            )
        return values.astype(np.int64)
    return np.asarray([str(v) for v in values], dtype=object)


def _numbers(
    col: pd.Series,
    *,
    what: str,
    path: Path,
    where: Callable[[int], tuple[int | None, str]],
    integer: bool,
) -> np.ndarray:
    """Validated numeric column (float64, or int64 when ``integer``)."""
    if pd.api.types.is_datetime64_any_dtype(col) and integer:
        if col.isna().any():
            line, prefix = where(_first_bad(col.isna().to_numpy()))
            raise DataFormatError(path, line, f"{prefix}missing {what}")
        return (col.astype("datetime64[s]").astype(np.int64)).to_numpy()
    if pd.api.types.is_bool_dtype(col):
        line, prefix = where(0)
        raise DataFormatError(path, line, f"{prefix}{what} column holds booleans")
    nums = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(nums)
    if bad.any():
        row = _first_bad(bad)
        raw = col.iloc[row]
        line, prefix = where(row)
        if pd.isna(raw):
            raise DataFormatError(path, line, f"{prefix}missing {what}")
        raise DataFormatError(path, line, f"{prefix}{what} {raw!r} is not a number")
    if integer:
        frac = nums != np.floor(nums)
        if frac.any():
            row = _first_bad(frac)
            line, prefix = where(row)
            raise DataFormatError(path, line, f"{prefix}{what} {col.iloc[row]!r} is not an integer")
        return nums.astype(np.int64)
    return nums


def load_table(
    path: str | Path,
    *,
    user_col: str,
    item_col: str,
    rating_col: str | None = None,
    timestamp_col: str | None = None,
    sep: str | None = None,
    name: str | None = None,
    duplicates: DuplicatePolicy = "keep",
    rating_range: tuple[float, float] | None = None,
) -> Dataset:
    """Load interactions from a CSV / TSV (with a header) or Parquet table.

    Args:
        path: the file. The format comes from the extension (``.csv`` -> ``,``, ``.tsv`` /
            ``.tab`` -> tab, ``.parquet`` / ``.pq``; a compression suffix such as ``.gz`` is
            looked through) unless ``sep`` is given for a text file.
        user_col, item_col: columns holding raw user / item ids. Integer ids (and
            integral floats) stay ``int``; anything else becomes ``str``.
        rating_col: optional numeric rating column (every row needs a number).
        timestamp_col: optional integer timestamp column (e.g. Unix seconds); a Parquet
            datetime column is converted to Unix seconds.
        sep: field separator of a text file (overrides the extension).
        name: dataset name (default: the file name without extensions).
        duplicates: repeated (user, item) policy, see the module docstring.
        rating_range: ``(low, high)``: ratings outside raise :class:`DataFormatError`.

    Other columns are ignored. Blank lines at the end of a text file are skipped (and
    counted in ``meta["blank_lines"]``); every other defect (a blank line before the end, a
    missing column, a missing id, a non-numeric rating or timestamp) raises
    :class:`DataFormatError` with the line. Line numbers count physical lines unless a
    quoted field spans several lines.
    """
    path = Path(path)
    check_duplicate_policy(duplicates)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    fmt = _infer_format(path, sep)
    wanted = [c for c in (user_col, item_col, rating_col, timestamp_col) if c is not None]
    if len(set(wanted)) != len(wanted):
        raise ValueError(f"the same column is mapped twice: {wanted}")

    if fmt == "parquet":
        import pyarrow.parquet as pq

        present = pq.read_schema(path).names
        absent = [c for c in wanted if c not in present]
        if absent:
            raise DataFormatError(path, None, f"missing column(s) {absent}; the file has {present}")
        frame = pd.read_parquet(path, columns=wanted)
        blank = 0

        def where(row: int) -> tuple[int | None, str]:
            return None, f"row {row + 1}: "
    else:
        try:
            header = pd.read_csv(path, sep=fmt, nrows=0)
        except pd.errors.EmptyDataError:
            raise DataFormatError(
                path, 1, "the file is empty (a header line is expected)"
            ) from None
        present = [str(c) for c in header.columns]
        absent = [c for c in wanted if c not in present]
        if absent:
            raise DataFormatError(
                path, 1, f"missing column(s) {absent} in the header; it has {present}"
            )
        try:
            frame = pd.read_csv(
                path,
                sep=fmt,
                skip_blank_lines=False,
                low_memory=False,
                dtype={user_col: object, item_col: object},
                keep_default_na=False,
                na_values=[""],
            )
        except pd.errors.ParserError as exc:
            # The C parser reports the 1-based physical line: "Expected 2 fields in line 4".
            found = re.search(r"line (\d+)", str(exc))
            raise DataFormatError(
                path, int(found.group(1)) if found else None, f"cannot parse ({exc})".strip()
            ) from exc
        # All columns are read (not usecols) so the parser checks every line's field count.
        frame = frame[wanted]
        # With skip_blank_lines=False, row r sits on line r + 2 (line 1 is the header).
        # Rows with none of the mapped columns filled at the end of the file (trailing blank
        # lines) are dropped; such rows before the end are errors.
        lines = np.arange(len(frame), dtype=np.int64) + 2
        empty = frame.isna().all(axis=1).to_numpy()
        trailing = len(empty) if empty.all() else int(np.argmin(empty[::-1]))
        blank = trailing
        if trailing:
            frame = frame.iloc[: len(frame) - trailing]
            lines = lines[: len(lines) - trailing]
            empty = empty[: len(empty) - trailing]
        if empty.any():
            raise DataFormatError(
                path,
                int(lines[_first_bad(empty)]),
                f"empty line (no value in any of the columns {wanted})",
            )
        frame = frame.assign(
            **{
                user_col: _coerce_text_ids(frame[user_col]),
                item_col: _coerce_text_ids(frame[item_col]),
            }
        )

        def where(row: int) -> tuple[int | None, str]:
            return int(lines[row]), ""

    frame = frame.reset_index(drop=True)
    out = pd.DataFrame(
        {
            "user_id": _ids(frame[user_col], what="user", path=path, where=where),
            "item_id": _ids(frame[item_col], what="item", path=path, where=where),
        }
    )
    if rating_col is not None:
        ratings = _numbers(frame[rating_col], what="rating", path=path, where=where, integer=False)
        if rating_range is not None:
            low, high = rating_range
            outside = (ratings < low) | (ratings > high)
            if outside.any():
                row = _first_bad(outside)
                line, prefix = where(row)
                raise DataFormatError(
                    path, line, f"{prefix}rating {ratings[row]:g} outside {low:g}..{high:g}"
                )
        out["rating"] = ratings
    if timestamp_col is not None:
        out["timestamp"] = _numbers(
            frame[timestamp_col], what="timestamp", path=path, where=where, integer=True
        )
        negative = out["timestamp"].to_numpy() < 0
        if negative.any():
            line, prefix = where(_first_bad(negative))
            raise DataFormatError(path, line, f"{prefix}negative timestamp")

    def line_of(row: int) -> int | None:
        return where(row)[0]

    out, dup = apply_duplicate_policy(out, duplicates, path=path, line_of=line_of)
    meta: dict[str, Any] = {
        "source": "table",
        "path": str(path),
        "columns": {
            "user": user_col,
            "item": item_col,
            "rating": rating_col,
            "timestamp": timestamp_col,
        },
        "duplicates": dup,
        "blank_lines": blank,
        "sha256": {path.name: _sha256(path)},
    }
    return build_dataset(name or _stem(path), out.reset_index(drop=True), meta=meta)


def _coerce_text_ids(col: pd.Series) -> pd.Series:
    """Ids read as text: when every present id is a canonical integer (no leading zeros, an
    optional ``.0`` tail as written by float columns) the column becomes int64 (object
    with NaN when some are missing); otherwise ids stay stripped strings, so ``"007"`` and
    ``"7"`` remain different ids."""
    present = col.dropna()
    as_text = present.astype(str).str.strip()
    if len(as_text) and as_text.str.fullmatch(r"[+-]?(0|[1-9]\d*)(\.0+)?").all():
        numbers = as_text.str.replace(r"\.0+$", "", regex=True).astype(np.int64)
        if len(present) == len(col):
            return numbers.astype(np.int64)
        out = pd.Series(np.full(len(col), np.nan, dtype=object), index=col.index)
        out[present.index] = numbers.to_numpy()
        return out
    out = col.astype(object).copy()
    out[present.index] = as_text.to_numpy()
    return out


def _stem(path: Path) -> str:
    name = path.name
    for _ in path.suffixes:
        name = name.rsplit(".", 1)[0]
    return name or path.name


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_sequences(path: str | Path, name: str | None = None) -> Dataset:
    """Load a SASRec / BERT4Rec-style sequence file (whitespace-separated integers).

    Two layouts are accepted and told apart by the widest line:

    - **one interaction per line**, ``user item`` (every line has exactly two tokens), the
      layout of SASRec's ``data/ml-1m.txt``; a user's lines need not be adjacent;
    - **one user per line**, ``user item item ...`` (some line has three or more tokens).
      A user on several lines continues the same sequence.

    The two readings agree whenever every line has two tokens and no user repeats, so the
    detection cannot change the result in the ambiguous case. Items are in chronological
    order. Timestamps are synthesised as the 0-based **position in the user's sequence**
    (so time-based splitters keep the file's order); ratings are NaN. Trailing blank lines
    are ignored; a blank line before the end, a line with one token or a non-integer token
    raise :class:`DataFormatError`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DataFormatError(path, None, "the file holds no interactions")
    users: list[int] = []
    items: list[int] = []
    widest = 0
    for lineno, line in enumerate(lines, start=1):
        tokens = line.split()
        if not tokens:
            raise DataFormatError(path, lineno, "empty line before the end of the file")
        if len(tokens) < 2:
            raise DataFormatError(
                path, lineno, f"expected 'user item ...', found the single token {tokens[0]!r}"
            )
        try:
            values = [int(t) for t in tokens]
        except ValueError:
            bad = next(t for t in tokens if not _is_int(t))
            raise DataFormatError(path, lineno, f"token {bad!r} is not an integer id") from None
        widest = max(widest, len(values))
        user = values[0]
        users.extend([user] * (len(values) - 1))
        items.extend(values[1:])
    user_arr = np.asarray(users, dtype=np.int64)
    # Position of each interaction within its user's sequence, in file order (stable sort).
    order = np.argsort(user_arr, kind="stable")
    sorted_users = user_arr[order]
    starts = np.r_[0, np.flatnonzero(sorted_users[1:] != sorted_users[:-1]) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(sorted_users)]))
    position = np.empty(len(user_arr), dtype=np.int64)
    position[order] = np.arange(len(user_arr)) - run_start
    frame = pd.DataFrame(
        {"user_id": user_arr, "item_id": np.asarray(items, dtype=np.int64), "timestamp": position}
    )
    layout = "per_user" if widest > 2 else "per_interaction"
    meta = {
        "source": "sequences",
        "path": str(path),
        "layout": layout,
        "timestamp": "position in the user's sequence (synthesised)",
        "sha256": {path.name: _sha256(path)},
    }
    return build_dataset(name or _stem(path), frame, meta=meta)


def _is_int(token: str) -> bool:
    try:
        int(token)
    except ValueError:
        return False
    return True
