"""Interaction filters: explicit -> implicit, k-core, and re-indexing.

Filters keep the vocabularies (and tables) unchanged: a user or item that loses all its
interactions still exists, with an empty history, so indices stay comparable with the
unfiltered dataset and with item features. Call :func:`compact` to drop such users and items
and re-index. Every filter records what it removed in ``Dataset.meta`` (under its own name).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from sensorec.data.dataset import Dataset, Vocabulary

logger = logging.getLogger("sensorec.data.filtering")


def to_implicit(ds: Dataset, threshold: float) -> Dataset:
    """Keep the interactions whose rating is ``>= threshold`` (e.g. 4 on a 1-5 scale).

    The kept rows keep their rating values. ``meta["implicit"]`` records the threshold and
    how many interactions were dropped. A dataset without ratings (any NaN) is an error.
    """
    ratings = ds.interactions["rating"].to_numpy(np.float64)
    if len(ratings) and np.isnan(ratings).any():
        n_nan = int(np.isnan(ratings).sum())
        raise ValueError(
            f"dataset {ds.name!r} has {n_nan} interactions without a rating; "
            "to_implicit needs explicit ratings"
        )
    keep = ratings >= threshold
    dropped = int((~keep).sum())
    logger.info("to_implicit(%g) on %s: dropped %d of %d", threshold, ds.name, dropped, len(keep))
    return ds.subset(
        keep, implicit={"threshold": float(threshold), "dropped": dropped, "kept": int(keep.sum())}
    )


def k_core(ds: Dataset, user_k: int, item_k: int) -> Dataset:
    """The ``(user_k, item_k)``-core: repeatedly drop the interactions of users with fewer
    than ``user_k`` interactions and of items with fewer than ``item_k``, until every
    remaining user has ``>= user_k`` and every remaining item ``>= item_k`` (a fixed point).

    Counts are of interaction rows (a repeated (user, item) pair counts each time). Users and
    items left without interactions stay in the vocabularies (see :func:`compact`).
    ``meta["k_core"]`` records ``user_k``, ``item_k``, the number of passes, and the removed
    interactions and emptied users / items.
    """
    if user_k < 0 or item_k < 0:
        raise ValueError(f"user_k and item_k must be >= 0, got {user_k}, {item_k}")
    users = ds.user_index
    items = ds.item_index
    keep = np.ones(len(users), dtype=bool)
    passes = 0
    while True:
        passes += 1
        u_count = np.bincount(users[keep], minlength=ds.n_users)
        i_count = np.bincount(items[keep], minlength=ds.n_items)
        new_keep = keep & (u_count[users] >= user_k) & (i_count[items] >= item_k)
        if np.array_equal(new_keep, keep):
            break
        keep = new_keep
    before_users = np.bincount(users, minlength=ds.n_users) > 0
    before_items = np.bincount(items, minlength=ds.n_items) > 0
    after_users = np.bincount(users[keep], minlength=ds.n_users) > 0
    after_items = np.bincount(items[keep], minlength=ds.n_items) > 0
    record: dict[str, Any] = {
        "user_k": int(user_k),
        "item_k": int(item_k),
        "passes": passes,
        "removed_interactions": int((~keep).sum()),
        "removed_users": int((before_users & ~after_users).sum()),
        "removed_items": int((before_items & ~after_items).sum()),
    }
    logger.info("k_core(%d, %d) on %s: %s", user_k, item_k, ds.name, record)
    return ds.subset(keep, k_core=record)


def compact(ds: Dataset) -> Dataset:
    """Drop users and items without interactions and re-index the rest (in their old order).

    Vocabularies, the user / item tables and the interaction indices are all re-indexed;
    ``meta["compact"]`` records how many users and items were dropped. The result no longer
    shares indices with ``ds``: re-align item features through the new vocabulary.
    """
    users = ds.user_index
    items = ds.item_index
    used_users = np.flatnonzero(np.bincount(users, minlength=ds.n_users) > 0)
    used_items = np.flatnonzero(np.bincount(items, minlength=ds.n_items) > 0)
    user_map = np.full(ds.n_users, -1, dtype=np.int64)
    user_map[used_users] = np.arange(len(used_users))
    item_map = np.full(ds.n_items, -1, dtype=np.int64)
    item_map[used_items] = np.arange(len(used_items))
    inter = ds.interactions.copy()
    inter["user"] = user_map[users]
    inter["item"] = item_map[items]

    def _table(table: pd.DataFrame | None, keep: np.ndarray) -> pd.DataFrame | None:
        if table is None:
            return None
        out = table.iloc[keep].copy()
        out.index = pd.RangeIndex(len(keep))
        return out

    record = {
        "dropped_users": int(ds.n_users - len(used_users)),
        "dropped_items": int(ds.n_items - len(used_items)),
    }
    meta = {**ds.meta, "compact": record}
    return type(ds)(
        name=ds.name,
        interactions=inter.reset_index(drop=True),
        users=Vocabulary(ds.users.raw(used_users), kind=ds.users.kind),
        items=Vocabulary(ds.items.raw(used_items), kind=ds.items.kind),
        user_table=_table(ds.user_table, used_users),
        item_table=_table(ds.item_table, used_items),
        meta=meta,
    )
