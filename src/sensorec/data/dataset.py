"""The recommender-native data structures: :class:`Vocabulary` and :class:`Dataset`.

Orientation is always user x item. Interactions are stored with contiguous indices
(``user``, ``item``; int64), plus ``rating`` (float32, NaN when unknown) and ``timestamp``
(int64, -1 when unknown). Row order is the order of the source file, which the splitters
use to break timestamp ties (a stable sort), as RecBole does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from sensorec.data.errors import UnknownIdError

INTERACTION_COLUMNS = ("user", "item", "rating", "timestamp")


class Vocabulary:
    """A bijection between raw ids (int or str) and contiguous indices ``0..n-1``.

    Raw ids keep their type: MovieLens ids stay ``int``, ids from a generic table may be
    ``str``. Lookup of an unknown id raises :class:`UnknownIdError` naming it, unless the
    caller asks for ``-1`` with ``missing="minus_one"``.
    """

    def __init__(self, ids: Iterable[Any], kind: str = "id") -> None:
        index = pd.Index(list(ids))
        if index.has_duplicates:
            dup = index[index.duplicated()].unique().tolist()
            raise ValueError(f"duplicate {kind} ids in vocabulary: {dup[:10]}")
        self._index = index
        self.kind = kind

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, raw: object) -> bool:
        return raw in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self._index.equals(other._index)

    def __hash__(self) -> int:
        return hash(tuple(self._index.tolist()))

    def __repr__(self) -> str:
        return f"Vocabulary({self.kind}, n={len(self)})"

    @property
    def ids(self) -> np.ndarray:
        """Raw ids in index order."""
        return self._index.to_numpy()

    def index(self, raw: Any) -> int:
        """Index of one raw id."""
        try:
            return int(self._index.get_loc(raw))
        except KeyError:
            raise UnknownIdError(self.kind, [raw]) from None

    def lookup(self, raw_ids: Sequence[Any] | np.ndarray, missing: str = "raise") -> np.ndarray:
        """Indices of many raw ids (int64). ``missing``: ``"raise"`` or ``"minus_one"``."""
        keys = raw_ids if isinstance(raw_ids, np.ndarray) else list(raw_ids)  # no list copy
        idx = self._index.get_indexer(pd.Index(keys))
        if missing == "raise" and (idx < 0).any():
            bad = [raw_ids[int(i)] for i in np.flatnonzero(idx < 0)]
            raise UnknownIdError(self.kind, bad)
        return idx.astype(np.int64)

    def raw(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Raw ids of indices."""
        return self._index.to_numpy()[np.asarray(indices, dtype=np.int64)]

    def to_list(self) -> list[Any]:
        return [x.item() if isinstance(x, np.generic) else x for x in self._index.tolist()]

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"kind": self.kind, "ids": self.to_list()}))

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        data = json.loads(Path(path).read_text())
        return cls(data["ids"], kind=data.get("kind", "id"))


@dataclass(frozen=True)
class Dataset:
    """An immutable set of interactions with its user and item vocabularies and tables.

    Attributes:
        name: dataset name (``ml-100k``, ``synthetic``, a file stem, ...).
        interactions: DataFrame with columns ``user``, ``item`` (indices), ``rating``,
            ``timestamp``, in source-file order.
        users, items: vocabularies. Splits of a dataset share the parent's vocabularies, so
            index ``i`` means the same item in train, valid and test.
        user_table: per-user attributes indexed by user index (e.g. gender, age, occupation).
        item_table: per-item attributes indexed by item index (e.g. title, year, genres).
        meta: free-form provenance (source files, policies applied, counts).
    """

    name: str
    interactions: pd.DataFrame
    users: Vocabulary
    items: Vocabulary
    user_table: pd.DataFrame | None = None
    item_table: pd.DataFrame | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c for c in INTERACTION_COLUMNS if c not in self.interactions.columns]
        if missing:
            raise ValueError(f"interactions lack columns {missing}")

    # -- sizes -------------------------------------------------------------------------
    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_interactions(self) -> int:
        return len(self.interactions)

    def __len__(self) -> int:
        return self.n_interactions

    @property
    def has_ratings(self) -> bool:
        r = self.interactions["rating"]
        return len(r) > 0 and bool(r.notna().all())

    @property
    def has_timestamps(self) -> bool:
        t = self.interactions["timestamp"]
        return len(t) > 0 and bool((t >= 0).all())

    # -- array views ---------------------------------------------------------------------
    @property
    def user_index(self) -> np.ndarray:
        return np.array(self.interactions["user"].to_numpy(), dtype=np.int64)  # a writable copy

    @property
    def item_index(self) -> np.ndarray:
        return np.array(self.interactions["item"].to_numpy(), dtype=np.int64)  # a writable copy

    @property
    def ratings(self) -> np.ndarray:
        return np.array(self.interactions["rating"].to_numpy(), dtype=np.float32)  # a writable copy

    @property
    def timestamps(self) -> np.ndarray:
        return np.array(
            self.interactions["timestamp"].to_numpy(), dtype=np.int64
        )  # a writable copy

    def csr(self, values: str | None = None) -> sp.csr_matrix:
        """User x item CSR matrix. ``values=None`` gives 1.0 per interaction (duplicates
        summed), ``"rating"`` the ratings."""
        data = (
            np.ones(self.n_interactions, dtype=np.float32)
            if values is None
            else self.interactions[values].to_numpy(np.float32)
        )
        mat = sp.csr_matrix(
            (data, (self.user_index, self.item_index)), shape=(self.n_users, self.n_items)
        )
        mat.sum_duplicates()
        return mat

    def user_histories(self, by_time: bool = True) -> list[np.ndarray]:
        """Item indices per user, chronological (stable on file order) when ``by_time``."""
        df = self.interactions
        order = (
            np.lexsort((np.arange(len(df)), df["timestamp"].to_numpy(), df["user"].to_numpy()))
            if by_time
            else np.lexsort((np.arange(len(df)), df["user"].to_numpy()))
        )
        users = df["user"].to_numpy()[order]
        items = df["item"].to_numpy()[order]
        bounds = np.searchsorted(users, np.arange(self.n_users + 1))
        return [items[bounds[u] : bounds[u + 1]].astype(np.int64) for u in range(self.n_users)]

    # -- derivation ------------------------------------------------------------------------
    def with_interactions(self, interactions: pd.DataFrame, **meta: Any) -> Dataset:
        """A dataset sharing vocabularies and tables, with other interactions."""
        merged = {**self.meta, **meta}
        return replace(self, interactions=interactions.reset_index(drop=True), meta=merged)

    def subset(self, mask: np.ndarray, **meta: Any) -> Dataset:
        return self.with_interactions(self.interactions[mask], **meta)

    def describe(self) -> dict[str, Any]:
        """Statistics: users, items, interactions, density, history-length quantiles."""
        counts = np.bincount(self.user_index, minlength=self.n_users)
        active = counts[counts > 0]
        item_counts = np.bincount(self.item_index, minlength=self.n_items)
        q = np.quantile(active, [0.0, 0.25, 0.5, 0.75, 1.0]) if len(active) else np.zeros(5)
        out: dict[str, Any] = {
            "name": self.name,
            "users": self.n_users,
            "items": self.n_items,
            "interactions": self.n_interactions,
            "active_users": len(active),
            "active_items": int((item_counts > 0).sum()),
            "density": self.n_interactions / max(1, self.n_users * self.n_items),
            "history_length": {
                "min": float(q[0]),
                "q25": float(q[1]),
                "median": float(q[2]),
                "q75": float(q[3]),
                "max": float(q[4]),
                "mean": float(active.mean()) if len(active) else 0.0,
            },
            "has_ratings": self.has_ratings,
            "has_timestamps": self.has_timestamps,
        }
        if self.has_ratings:
            out["rating_mean"] = float(np.mean(self.ratings))
        return out


def build_dataset(
    name: str,
    frame: pd.DataFrame,
    *,
    user_table: pd.DataFrame | None = None,
    item_table: pd.DataFrame | None = None,
    user_ids: Iterable[Any] | None = None,
    item_ids: Iterable[Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> Dataset:
    """Build a :class:`Dataset` from raw-id columns ``user_id``, ``item_id`` (+ optional
    ``rating``, ``timestamp``).

    Vocabularies are ``user_ids`` / ``item_ids`` when given (e.g. all ids of ``u.user`` and
    ``u.item``, so items without ratings still exist), else the ids in order of first
    appearance. ``user_table`` / ``item_table`` must be indexed by raw id; they are
    re-indexed by vocabulary index.
    """
    users = Vocabulary(
        user_ids if user_ids is not None else pd.unique(frame["user_id"]), kind="user"
    )
    items = Vocabulary(
        item_ids if item_ids is not None else pd.unique(frame["item_id"]), kind="item"
    )
    inter = pd.DataFrame(
        {
            "user": users.lookup(frame["user_id"].to_numpy()),
            "item": items.lookup(frame["item_id"].to_numpy()),
            "rating": (
                frame["rating"].to_numpy(np.float32)
                if "rating" in frame
                else np.full(len(frame), np.nan, np.float32)
            ),
            "timestamp": (
                frame["timestamp"].to_numpy(np.int64)
                if "timestamp" in frame
                else np.full(len(frame), -1, np.int64)
            ),
        }
    )
    for col in frame.columns:
        if col not in ("user_id", "item_id", "rating", "timestamp"):
            inter[col] = frame[col].to_numpy()

    def _align(table: pd.DataFrame | None, vocab: Vocabulary) -> pd.DataFrame | None:
        if table is None:
            return None
        aligned = table.reindex(pd.Index(vocab.to_list()))
        aligned.index = pd.RangeIndex(len(vocab))
        return aligned

    return Dataset(
        name=name,
        interactions=inter,
        users=users,
        items=items,
        user_table=_align(user_table, users),
        item_table=_align(item_table, items),
        meta=dict(meta or {}),
    )


@dataclass(frozen=True)
class Split:
    """Train / validation / test parts of one dataset, sharing its vocabularies.

    ``protocol`` records how it was made (splitter name, parameters, seed, tie policy).
    Only :mod:`sensorec.experiments` decides when ``test`` is read.
    """

    train: Dataset
    valid: Dataset
    test: Dataset
    protocol: dict[str, Any] = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return self.train.n_users

    @property
    def n_items(self) -> int:
        return self.train.n_items
