"""to_implicit, k_core (fixed point, hand-computed), compact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sensorec.data import Dataset, build_dataset, compact, k_core, to_implicit


def _dataset(pairs: list[tuple[str, int]], ratings: list[float] | None = None) -> Dataset:
    frame = pd.DataFrame(pairs, columns=["user_id", "item_id"])
    if ratings is not None:
        frame["rating"] = ratings
    users = ["A", "B", "C", "D"]
    items = [1, 2, 3, 4]
    return build_dataset(
        "toy",
        frame,
        user_ids=users,
        item_ids=items,
        user_table=pd.DataFrame({"age": [10, 20, 30, 40]}, index=users),
        item_table=pd.DataFrame({"title": ["one", "two", "three", "four"]}, index=items),
    )


# A-1 A-2 B-1 B-2 C-2 C-3 D-3; item 4 has no interactions.
PAIRS = [("A", 1), ("A", 2), ("B", 1), ("B", 2), ("C", 2), ("C", 3), ("D", 3)]


def test_to_implicit_counts_drops() -> None:
    ds = _dataset(PAIRS, ratings=[5, 3, 4, 1, 4.5, 2, 4])
    out = to_implicit(ds, 4)
    assert out.n_interactions == 4
    assert out.ratings.tolist() == [5.0, 4.0, 4.5, 4.0]
    assert out.meta["implicit"] == {"threshold": 4.0, "dropped": 3, "kept": 4}
    assert out.users is ds.users and out.items is ds.items
    with pytest.raises(ValueError, match="without a rating"):
        to_implicit(_dataset(PAIRS), 4)


def test_k_core_hand_computed_cascade() -> None:
    # (2, 2)-core: D has one interaction -> D-3 goes; then item 3 has one (C-3) -> goes;
    # then C has one (C-2) -> goes; A and B with items 1 and 2 remain: 4 passes in all
    # (the last one confirms the fixed point).
    ds = _dataset(PAIRS)
    out = k_core(ds, 2, 2)
    kept = list(zip(out.users.raw(out.user_index), out.items.raw(out.item_index), strict=True))
    assert kept == [("A", 1), ("A", 2), ("B", 1), ("B", 2)]
    assert out.meta["k_core"] == {
        "user_k": 2,
        "item_k": 2,
        "passes": 4,
        "removed_interactions": 3,
        "removed_users": 2,
        "removed_items": 1,
    }
    assert out.n_users == 4 and out.n_items == 4  # vocabularies unchanged
    # (1, 2)-core: every rated item already has >= 2 interactions, nothing goes.
    one_two = k_core(ds, 1, 2)
    assert one_two.n_interactions == 7
    # (3, 1): no user has 3 interactions -> empty.
    assert k_core(ds, 3, 1).n_interactions == 0


def test_k_core_is_a_fixed_point_on_random_data() -> None:
    rng = np.random.default_rng(0)
    n = 3000
    users = rng.zipf(1.6, n) % 200
    items = rng.zipf(1.4, n) % 300
    frame = pd.DataFrame({"user_id": users, "item_id": items})
    ds = build_dataset("rand", frame)
    out = k_core(ds, 5, 4)
    u_count = np.bincount(out.user_index, minlength=out.n_users)
    i_count = np.bincount(out.item_index, minlength=out.n_items)
    assert ((u_count == 0) | (u_count >= 5)).all()
    assert ((i_count == 0) | (i_count >= 4)).all()
    assert 0 < out.n_interactions < ds.n_interactions
    again = k_core(out, 5, 4)
    assert again.n_interactions == out.n_interactions
    assert again.meta["k_core"]["passes"] == 1
    # Maximality: the largest core is induced, i.e. it holds every interaction between its
    # own users and items.
    core_users = np.flatnonzero(u_count > 0)
    core_items = np.flatnonzero(i_count > 0)
    mask = np.isin(ds.user_index, core_users) & np.isin(ds.item_index, core_items)
    assert mask.sum() == out.n_interactions


def test_compact_reindexes_tables() -> None:
    ds = k_core(_dataset(PAIRS), 2, 2)
    small = compact(ds)
    assert small.users.to_list() == ["A", "B"]
    assert small.items.to_list() == [1, 2]
    assert small.user_table["age"].tolist() == [10, 20]
    assert small.item_table["title"].tolist() == ["one", "two"]
    assert small.meta["compact"] == {"dropped_users": 2, "dropped_items": 2}
    assert "k_core" in small.meta
    kept = list(
        zip(small.users.raw(small.user_index), small.items.raw(small.item_index), strict=True)
    )
    assert kept == [("A", 1), ("A", 2), ("B", 1), ("B", 2)]
    assert small.csr().shape == (2, 2)
