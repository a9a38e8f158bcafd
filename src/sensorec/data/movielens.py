"""MovieLens 100K and 1M, read from the original GroupLens files.

Files (in ``<data_dir>/ml-100k/`` and ``<data_dir>/ml-1m/``; see
:func:`sensorec.data.download.resolve_data_dir` for how ``data_dir`` is found):

- ML-100K: ``u.data`` (tab-separated ``user item rating timestamp``), ``u.item``
  (latin-1, ``|``-separated: id, title, release date, video release date, IMDb URL, 19 genre
  flags), ``u.user`` (``id|age|gender|occupation|zip``), ``u.genre`` (``name|index``).
- ML-1M: ``ratings.dat`` (``UserID::MovieID::Rating::Timestamp``), ``movies.dat``
  (latin-1, ``MovieID::Title::Genre1|Genre2``), ``users.dat``
  (``UserID::Gender::Age::Occupation::Zip-code``).

The vocabularies are all users of the user file and all items of the item file, in file
order, so items nobody rated still exist. Interactions keep the ratings file's order (the
splitters break timestamp ties by it). Every line is validated; a defect raises
:class:`~sensorec.data.errors.DataFormatError` naming the file and the 1-based line.

The ratings are parsed in one vectorised ``pandas.read_csv`` pass (ML-1M's ``::`` is first
replaced by a tab, so the fast C parser applies); only when that pass finds something wrong
does a line-by-line scan run, to name the first offending line.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sensorec.data.dataset import Dataset, build_dataset
from sensorec.data.download import ensure_movielens
from sensorec.data.errors import DataFormatError
from sensorec.data.tables import DuplicatePolicy, apply_duplicate_policy, check_duplicate_policy

logger = logging.getLogger("sensorec.data.movielens")

MovieLensName = Literal["ml-100k", "ml-1m"]

RATING_RANGE = (1.0, 5.0)

#: ML-100K genre names in flag order (used when ``u.genre`` is absent).
ML100K_GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)

#: ML-1M age codes (README) -> range.
ML1M_AGE_GROUPS = {
    1: "Under 18",
    18: "18-24",
    25: "25-34",
    35: "35-44",
    45: "45-49",
    50: "50-55",
    56: "56+",
}

#: ML-1M occupation codes (README) -> name.
ML1M_OCCUPATIONS = {
    0: "other or not specified",
    1: "academic/educator",
    2: "artist",
    3: "clerical/admin",
    4: "college/grad student",
    5: "customer service",
    6: "doctor/health care",
    7: "executive/managerial",
    8: "farmer",
    9: "homemaker",
    10: "K-12 student",
    11: "lawyer",
    12: "programmer",
    13: "retired",
    14: "sales/marketing",
    15: "scientist",
    16: "self-employed",
    17: "technician/engineer",
    18: "tradesman/craftsman",
    19: "unemployed",
    20: "writer",
}

_TITLE_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)\s*$")


def load_movielens(
    name: MovieLensName,
    data_dir: str | Path | None = None,
    download: bool = True,
    *,
    duplicates: DuplicatePolicy = "keep",
) -> Dataset:
    """Load MovieLens ``ml-100k`` or ``ml-1m``.

    Args:
        name: ``"ml-100k"`` or ``"ml-1m"``.
        data_dir: folder holding ``<name>/`` (argument > env ``SENSOREC_DATA`` > user cache).
        download: fetch the official zip from GroupLens when the folder is absent
            (checked and extracted atomically); otherwise raise
            :class:`~sensorec.data.errors.DatasetNotFoundError`.
        duplicates: repeated (user, item) policy (``"keep"``, ``"first"``, ``"last"`` in
            file order, or ``"error"``); the count is in ``meta["duplicates"]``. The
            original files have none.

    Returns:
        A :class:`Dataset` with ``user_table`` (gender, age, occupation, zip; ML-1M adds
        ``age_group`` and ``occupation_name`` since its age and occupation are codes) and
        ``item_table`` (``title`` without the year, ``year`` as nullable Int64, ``genres`` as
        ``list[str]``, ``raw_title``; ML-100K adds ``release_date`` and ``imdb_url``).
    """
    check_duplicate_policy(duplicates)
    if name not in ("ml-100k", "ml-1m"):
        raise ValueError(f"unknown MovieLens dataset {name!r}; known: ml-100k, ml-1m")
    folder = ensure_movielens(name, data_dir, download=download)
    digests: dict[str, str] = {}
    if name == "ml-100k":
        user_table = _ml100k_users(folder / "u.user", digests)
        item_table = _ml100k_items(folder / "u.item", folder / "u.genre", digests)
        ratings_path, sep = folder / "u.data", b"\t"
    else:
        user_table = _ml1m_users(folder / "users.dat", digests)
        item_table = _ml1m_items(folder / "movies.dat", digests)
        ratings_path, sep = folder / "ratings.dat", b"::"
    frame, line_of = _read_ratings(
        ratings_path, sep, user_table.index.to_numpy(), item_table.index.to_numpy(), digests
    )
    frame, dup = apply_duplicate_policy(frame, duplicates, path=ratings_path, line_of=line_of)
    meta: dict[str, Any] = {
        "source": "movielens",
        "folder": str(folder),
        "ratings_file": ratings_path.name,
        "duplicates": dup,
        "sha256": digests,
    }
    ds = build_dataset(
        name,
        frame.reset_index(drop=True),
        user_table=user_table,
        item_table=item_table,
        user_ids=user_table.index.tolist(),
        item_ids=item_table.index.tolist(),
        meta=meta,
    )
    logger.info(
        "loaded %s from %s: %d users, %d items, %d ratings",
        name,
        folder,
        ds.n_users,
        ds.n_items,
        ds.n_interactions,
    )
    return ds


# -- small files: parsed line by line ---------------------------------------------------------
def _read_lines(path: Path, encoding: str, digests: dict[str, str]) -> list[tuple[int, str]]:
    """Non-blank lines of ``path`` with their 1-based numbers."""
    raw = path.read_bytes()
    digests[path.name] = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataFormatError(path, line, f"not valid {encoding} text") from None
    return [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]


def _fields(path: Path, lineno: int, line: str, sep: str, n: int, what: str) -> list[str]:
    parts = line.split(sep)
    if len(parts) != n:
        raise DataFormatError(
            path, lineno, f"expected {n} {sep!r}-separated fields ({what}), found {len(parts)}"
        )
    return parts


def _int(path: Path, lineno: int, token: str, what: str, header_ok: bool = False) -> int:
    try:
        return int(token)
    except ValueError:
        hint = " (a header line? this file has none)" if lineno == 1 and not header_ok else ""
        raise DataFormatError(path, lineno, f"{what} {token!r} is not an integer{hint}") from None


def _check_unique(path: Path, ids: list[int], linenos: list[int], what: str) -> None:
    seen: dict[int, int] = {}
    for i, lineno in zip(ids, linenos, strict=True):
        if i in seen:
            raise DataFormatError(path, lineno, f"{what} id {i} already defined on line {seen[i]}")
        seen[i] = lineno


def _split_title(title: str) -> tuple[str, Any]:
    """``"Toy Story (1995)"`` -> ``("Toy Story", 1995)``; no year -> ``(title, NA)``."""
    m = _TITLE_YEAR.match(title)
    if m is None:
        return title.strip(), pd.NA
    return m.group("title"), int(m.group("year"))


def _ml100k_users(path: Path, digests: dict[str, str]) -> pd.DataFrame:
    rows, ids, linenos = [], [], []
    for lineno, line in _read_lines(path, "latin-1", digests):
        uid, age, gender, occupation, zipcode = _fields(
            path, lineno, line, "|", 5, "id|age|gender|occupation|zip"
        )
        ids.append(_int(path, lineno, uid, "user id"))
        linenos.append(lineno)
        rows.append(
            {
                "gender": gender,
                "age": _int(path, lineno, age, "age"),
                "occupation": occupation,
                "zip": zipcode,
            }
        )
    _check_unique(path, ids, linenos, "user")
    return pd.DataFrame(rows, index=pd.Index(ids, name="user_id"))


def _ml100k_genres(path: Path, digests: dict[str, str]) -> list[str]:
    if not path.is_file():
        return list(ML100K_GENRES)
    pairs = []
    for lineno, line in _read_lines(path, "latin-1", digests):
        genre, idx = _fields(path, lineno, line, "|", 2, "name|index")
        pairs.append((_int(path, lineno, idx, "genre index"), genre))
    pairs.sort()
    if [i for i, _ in pairs] != list(range(len(pairs))):
        raise DataFormatError(path, None, "genre indices are not 0..n-1")
    return [g for _, g in pairs]


def _ml100k_items(path: Path, genre_path: Path, digests: dict[str, str]) -> pd.DataFrame:
    genres = _ml100k_genres(genre_path, digests)
    n_fields = 5 + len(genres)
    rows, ids, linenos = [], [], []
    for lineno, line in _read_lines(path, "latin-1", digests):
        parts = _fields(
            path,
            lineno,
            line,
            "|",
            n_fields,
            f"id|title|release date|video release date|IMDb URL|{len(genres)} genre flags",
        )
        ids.append(_int(path, lineno, parts[0], "item id"))
        linenos.append(lineno)
        flags = parts[5:]
        if any(f not in ("0", "1") for f in flags):
            raise DataFormatError(path, lineno, f"genre flags must be 0 or 1, found {flags}")
        release = parts[2].strip()
        try:
            date = pd.to_datetime(release, format="%d-%b-%Y") if release else pd.NaT
        except ValueError:
            raise DataFormatError(
                path, lineno, f"release date {release!r} is not like 01-Jan-1995"
            ) from None
        title, year = _split_title(parts[1])
        rows.append(
            {
                "title": title,
                "year": year,
                "genres": [g for g, f in zip(genres, flags, strict=True) if f == "1"],
                "raw_title": parts[1].strip(),
                "release_date": date,
                "imdb_url": parts[4].strip() or None,
            }
        )
    _check_unique(path, ids, linenos, "item")
    table = pd.DataFrame(rows, index=pd.Index(ids, name="item_id"))
    table["year"] = table["year"].astype("Int64")
    table["release_date"] = pd.to_datetime(table["release_date"])
    return table


def _ml1m_users(path: Path, digests: dict[str, str]) -> pd.DataFrame:
    rows, ids, linenos = [], [], []
    for lineno, line in _read_lines(path, "latin-1", digests):
        uid, gender, age, occupation, zipcode = _fields(
            path, lineno, line, "::", 5, "UserID::Gender::Age::Occupation::Zip-code"
        )
        ids.append(_int(path, lineno, uid, "user id"))
        linenos.append(lineno)
        age_code = _int(path, lineno, age, "age")
        if age_code not in ML1M_AGE_GROUPS:
            raise DataFormatError(
                path, lineno, f"age code {age_code} is not one of {sorted(ML1M_AGE_GROUPS)}"
            )
        occ = _int(path, lineno, occupation, "occupation")
        if occ not in ML1M_OCCUPATIONS:
            raise DataFormatError(path, lineno, f"occupation code {occ} is not in 0..20")
        rows.append(
            {
                "gender": gender,
                "age": age_code,
                "age_group": ML1M_AGE_GROUPS[age_code],
                "occupation": occ,
                "occupation_name": ML1M_OCCUPATIONS[occ],
                "zip": zipcode,
            }
        )
    _check_unique(path, ids, linenos, "user")
    return pd.DataFrame(rows, index=pd.Index(ids, name="user_id"))


def _ml1m_items(path: Path, digests: dict[str, str]) -> pd.DataFrame:
    rows, ids, linenos = [], [], []
    for lineno, line in _read_lines(path, "latin-1", digests):
        mid, raw_title, genre_field = _fields(path, lineno, line, "::", 3, "MovieID::Title::Genres")
        ids.append(_int(path, lineno, mid, "movie id"))
        linenos.append(lineno)
        title, year = _split_title(raw_title)
        rows.append(
            {
                "title": title,
                "year": year,
                "genres": [g for g in genre_field.strip().split("|") if g],
                "raw_title": raw_title.strip(),
            }
        )
    _check_unique(path, ids, linenos, "movie")
    table = pd.DataFrame(rows, index=pd.Index(ids, name="item_id"))
    table["year"] = table["year"].astype("Int64")
    return table


# -- ratings: vectorised, with a line-by-line scan to locate defects --------------------------
_RATING_FIELDS = ("user", "item", "rating", "timestamp")


def _read_ratings(
    path: Path,
    sep: bytes,
    user_ids: np.ndarray,
    item_ids: np.ndarray,
    digests: dict[str, str],
) -> tuple[pd.DataFrame, Callable[[int], int | None]]:
    """Parse a ratings file; returns the raw-id frame and a row -> line mapping."""
    raw = path.read_bytes()
    digests[path.name] = hashlib.sha256(raw).hexdigest()

    def line_of(row: int) -> int | None:
        return _row_to_line(raw, row)

    def scan(reason: str) -> DataFormatError:
        err = _scan_ratings(path, raw, sep, user_ids, item_ids)
        return err or DataFormatError(path, None, reason)

    buf = raw
    if sep != b"\t":
        if b"\t" in raw:
            raise scan(f"tab characters in a {sep.decode()!r}-separated file")
        buf = raw.replace(sep, b"\t")
    try:
        df = pd.read_csv(
            io.BytesIO(buf),
            sep="\t",
            header=None,
            engine="c",
            low_memory=False,
            skip_blank_lines=True,
        )
    except pd.errors.EmptyDataError:
        raise DataFormatError(path, None, "the file holds no ratings") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise scan(f"cannot parse ({exc})") from exc
    if df.shape[1] != 4:
        raise scan(f"expected 4 fields per line, found {df.shape[1]}")
    df.columns = list(_RATING_FIELDS)
    for col in ("user", "item", "timestamp"):
        if not pd.api.types.is_integer_dtype(df[col]):
            raise scan(f"non-integer values in the {col} column")
    if not pd.api.types.is_numeric_dtype(df["rating"]):
        raise scan("non-numeric values in the rating column")
    rating = df["rating"].to_numpy(np.float64)
    low, high = RATING_RANGE
    if not np.all((rating >= low) & (rating <= high)) or (df["timestamp"] < 0).any():
        raise scan("rating or timestamp out of range")
    users = df["user"].to_numpy(np.int64)
    items = df["item"].to_numpy(np.int64)
    if not (np.isin(users, user_ids).all() and np.isin(items, item_ids).all()):
        raise scan("a rating names an unknown user or item")
    frame = pd.DataFrame(
        {
            "user_id": users,
            "item_id": items,
            "rating": rating.astype(np.float32),
            "timestamp": df["timestamp"].to_numpy(np.int64),
        }
    )
    return frame, line_of


def _row_to_line(raw: bytes, row: int) -> int | None:
    """1-based line of data row ``row`` (blank lines skipped as ``read_csv`` does)."""
    seen = -1
    for lineno, line in enumerate(raw.split(b"\n"), start=1):
        if line.strip():
            seen += 1
            if seen == row:
                return lineno
    return None


def _scan_ratings(
    path: Path,
    raw: bytes,
    sep: bytes,
    user_ids: Sequence[int] | np.ndarray,
    item_ids: Sequence[int] | np.ndarray,
) -> DataFormatError | None:
    """The error for the first bad line of a ratings file, or ``None`` if every line is fine."""
    known_users = set(np.asarray(user_ids).tolist())
    known_items = set(np.asarray(item_ids).tolist())
    text_sep = sep.decode()
    low, high = RATING_RANGE
    for lineno, bline in enumerate(raw.split(b"\n"), start=1):
        if not bline.strip():
            continue
        line = bline.decode("latin-1").rstrip("\r")
        parts = line.split(text_sep)
        if len(parts) != 4:
            return DataFormatError(
                path,
                lineno,
                f"expected 4 {text_sep!r}-separated fields (user, item, rating, timestamp), "
                f"found {len(parts)}",
            )
        if lineno == 1 and not any(_is_number(p) for p in parts):
            return DataFormatError(
                path, lineno, f"unexpected header line {line.strip()!r} (this file has none)"
            )
        user_tok, item_tok, rating_tok, ts_tok = parts
        for token, what in ((user_tok, "user id"), (item_tok, "item id")):
            if not _is_int(token):
                return DataFormatError(path, lineno, f"{what} {token.strip()!r} is not an integer")
        if not _is_number(rating_tok):
            return DataFormatError(path, lineno, f"rating {rating_tok.strip()!r} is not a number")
        rating = float(rating_tok)
        if not low <= rating <= high:
            return DataFormatError(path, lineno, f"rating {rating:g} outside {low:g}..{high:g}")
        if not _is_int(ts_tok):
            return DataFormatError(path, lineno, f"timestamp {ts_tok.strip()!r} is not an integer")
        if int(ts_tok) < 0:
            return DataFormatError(path, lineno, f"negative timestamp {int(ts_tok)}")
        if int(user_tok) not in known_users:
            return DataFormatError(path, lineno, f"user {int(user_tok)} is not in the user file")
        if int(item_tok) not in known_items:
            return DataFormatError(path, lineno, f"item {int(item_tok)} is not in the item file")
    return None


def _is_int(token: str) -> bool:
    try:
        int(token)
    except ValueError:
        return False
    return True


def _is_number(token: str) -> bool:
    try:
        value = float(token)
    except ValueError:
        return False
    return bool(np.isfinite(value))
