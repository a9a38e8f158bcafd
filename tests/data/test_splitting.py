"""Splitter properties: partition, determinism, no future leakage, tie-breaking, counts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from sensorec.data import (
    SPLITTERS,
    Dataset,
    Split,
    build_dataset,
    leave_one_out,
    make_split,
    random_split,
    ratio_split,
    temporal_split,
)


def _random_dataset(seed: int = 0, n: int = 2000) -> Dataset:
    """Interactions with many equal timestamps (drawn from 50 values) and a ``row`` column
    holding the input position, which every part carries along."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "user_id": rng.integers(0, 60, n),
            "item_id": rng.integers(0, 150, n),
            "rating": rng.integers(1, 6, n).astype(float),
            "timestamp": rng.integers(0, 50, n),
            "row": np.arange(n),
        }
    )
    return build_dataset("rand", frame)


def _rows(part: Dataset) -> np.ndarray:
    return part.interactions["row"].to_numpy()


CASES: list[tuple[str, dict[str, Any]]] = [
    ("loo", {}),
    ("loo", {"order": "random"}),
    ("ratio", {}),
    ("ratio", {"by_time": False}),
    ("ratio", {"ratios": (0.7, 0.3), "valid_ratio": 0.2}),
    ("random", {}),
    ("random", {"ratios": (0.8, 0.2)}),
    ("temporal", {}),
    ("temporal", {"cuts": (30, 40)}),
]


@pytest.mark.parametrize(("name", "params"), CASES)
def test_parts_partition_the_input_and_share_vocabularies(
    name: str, params: dict[str, Any]
) -> None:
    ds = _random_dataset()
    split = make_split(ds, name, seed=3, **params)
    rows = [_rows(p) for p in (split.train, split.valid, split.test)]
    everything = np.concatenate(rows)
    assert len(everything) == ds.n_interactions
    assert np.array_equal(np.sort(everything), np.arange(ds.n_interactions))  # disjoint, union
    for part, r in zip((split.train, split.valid, split.test), rows, strict=True):
        assert part.users is ds.users and part.items is ds.items
        assert np.all(np.diff(r) > 0)  # parent row order kept
        # Each row carries the parent's values.
        assert np.array_equal(part.item_index, ds.item_index[r])
        assert np.array_equal(part.timestamps, ds.timestamps[r])
    assert split.protocol["splitter"] == name
    assert split.protocol["sizes"] == {
        "train": len(rows[0]),
        "valid": len(rows[1]),
        "test": len(rows[2]),
    }


@pytest.mark.parametrize(("name", "params"), CASES)
def test_same_seed_same_split(name: str, params: dict[str, Any]) -> None:
    ds = _random_dataset()
    a = make_split(ds, name, seed=11, **params)
    b = make_split(ds, name, seed=11, **params)
    for pa, pb in zip((a.train, a.valid, a.test), (b.train, b.valid, b.test), strict=True):
        assert np.array_equal(_rows(pa), _rows(pb))
    assert a.protocol == b.protocol


@pytest.mark.parametrize(
    ("name", "params"),
    [("loo", {"order": "random"}), ("ratio", {"by_time": False}), ("random", {})],
)
def test_random_protocols_depend_on_the_seed(name: str, params: dict[str, Any]) -> None:
    ds = _random_dataset()
    a = make_split(ds, name, seed=1, **params)
    b = make_split(ds, name, seed=2, **params)
    assert not np.array_equal(_rows(a.test), _rows(b.test))
    assert a.protocol["seed"] == 1


def _assert_no_future_leakage(split: Split) -> None:
    def by_user(part: Dataset, fn: Any) -> pd.Series:
        return part.interactions.groupby("user")["timestamp"].agg(fn)

    train_max = by_user(split.train, "max")
    valid_min, valid_max = by_user(split.valid, "min"), by_user(split.valid, "max")
    test_min = by_user(split.test, "min")
    for later in (valid_min, test_min):
        common = train_max.index.intersection(later.index)
        assert (train_max[common] <= later[common]).all()
    common = valid_max.index.intersection(test_min.index)
    assert (valid_max[common] <= test_min[common]).all()


@pytest.mark.parametrize(
    "split_fn",
    [
        lambda ds: leave_one_out(ds),
        lambda ds: ratio_split(ds, (0.6, 0.2, 0.2)),
        lambda ds: temporal_split(ds, (0.6, 0.2, 0.2)),
    ],
)
def test_time_protocols_have_no_future_leakage(split_fn: Any) -> None:
    split = split_fn(_random_dataset())
    assert split.test.n_interactions > 0 and split.valid.n_interactions > 0
    _assert_no_future_leakage(split)


def test_temporal_split_is_a_strict_global_cut() -> None:
    ds = _random_dataset()
    split = temporal_split(ds, (0.8, 0.1, 0.1))
    assert split.train.timestamps.max() < split.valid.timestamps.min()
    assert split.valid.timestamps.max() < split.test.timestamps.min()
    t_valid, t_test = split.protocol["cuts"]
    assert split.valid.timestamps.min() >= t_valid and split.test.timestamps.min() >= t_test
    # Ties stay together, so sizes are close to (not exactly) the ratios.
    assert abs(split.test.n_interactions - 200) <= 2 * np.bincount(ds.timestamps).max()
    explicit = temporal_split(ds, cuts=(30, 40))
    assert explicit.train.timestamps.max() == 29
    assert explicit.test.timestamps.min() == 40
    with pytest.raises(ValueError, match="t_valid <= t_test"):
        temporal_split(ds, cuts=(40, 30))


def test_leave_one_out_breaks_ties_by_file_order() -> None:
    # User u: all three at t=5, file order i1, i2, i3 -> test i3, valid i2. User v's rows are
    # interleaved and out of time order: v-a at t=9 is the last one in time.
    frame = pd.DataFrame(
        {
            "user_id": ["u", "v", "u", "v", "u", "v", "w", "w"],
            "item_id": ["i1", "a", "i2", "b", "i3", "c", "i1", "i2"],
            "timestamp": [5, 9, 5, 1, 5, 2, 1, 2],
        }
    )
    ds = build_dataset("ties", frame)
    split = leave_one_out(ds)

    def pairs(part: Dataset) -> list[tuple[str, str]]:
        return sorted(
            zip(part.users.raw(part.user_index), part.items.raw(part.item_index), strict=True)
        )

    assert pairs(split.test) == [("u", "i3"), ("v", "a")]
    assert pairs(split.valid) == [("u", "i2"), ("v", "c")]
    assert pairs(split.train) == [("u", "i1"), ("v", "b"), ("w", "i1"), ("w", "i2")]
    assert split.protocol["users_all_train"] == 1  # w has only 2 interactions
    assert "file order" in split.protocol["tie_break"]


def test_leave_one_out_random_order_one_each() -> None:
    ds = _random_dataset()
    split = leave_one_out(ds, order="random", seed=5)
    counts = np.bincount(ds.user_index, minlength=ds.n_users)
    eligible = int((counts >= 3).sum())
    assert split.test.n_interactions == eligible == split.valid.n_interactions
    assert len(np.unique(split.test.user_index)) == eligible


def test_ratio_split_per_user_counts() -> None:
    sizes = {"a": 10, "b": 3, "c": 2, "d": 1, "e": 20}
    users = [u for u, n in sizes.items() for _ in range(n)]
    frame = pd.DataFrame(
        {
            "user_id": users,
            "item_id": np.arange(len(users)),
            "timestamp": np.arange(len(users))[::-1],  # reverse file order in time
        }
    )
    ds = build_dataset("sizes", frame)
    split = ratio_split(ds, (0.8, 0.1, 0.1))

    def per_user(part: Dataset) -> dict[str, int]:
        raw = part.users.raw(part.user_index)
        return {u: int((raw == u).sum()) for u in sizes}

    assert per_user(split.train) == {"a": 8, "b": 1, "c": 1, "d": 1, "e": 16}
    assert per_user(split.valid) == {"a": 1, "b": 1, "c": 0, "d": 0, "e": 2}
    assert per_user(split.test) == {"a": 1, "b": 1, "c": 1, "d": 0, "e": 2}
    # By time: the test item of user a is its earliest row in the file (latest timestamp).
    a_test = split.test.items.raw(split.test.item_index)[
        split.test.users.raw(split.test.user_index) == "a"
    ]
    assert a_test.tolist() == [0]


def test_random_split_sizes_and_two_ratios() -> None:
    ds = _random_dataset(n=1000)
    split = random_split(ds, (0.8, 0.2), seed=0)
    assert split.protocol["sizes"] == {"train": 720, "valid": 80, "test": 200}
    no_valid = random_split(ds, (0.8, 0.2), seed=0, valid_ratio=0.0)
    assert no_valid.protocol["sizes"] == {"train": 800, "valid": 0, "test": 200}
    three = random_split(ds, (0.7, 0.1, 0.2), seed=0)
    assert three.protocol["sizes"] == {"train": 700, "valid": 100, "test": 200}
    with pytest.raises(ValueError, match="sum to 1"):
        random_split(ds, (0.7, 0.2, 0.2))
    with pytest.raises(ValueError, match="valid_ratio only applies"):
        random_split(ds, (0.8, 0.1, 0.1), valid_ratio=0.1)


def test_time_protocols_need_timestamps_and_registry() -> None:
    frame = pd.DataFrame({"user_id": [1, 1, 1, 2], "item_id": [1, 2, 3, 1]})
    ds = build_dataset("untimed", frame)
    for fn in (leave_one_out, ratio_split, temporal_split):
        with pytest.raises(ValueError, match="needs timestamps"):
            fn(ds)
    assert leave_one_out(ds, order="random", seed=0).test.n_interactions == 1
    assert {"loo", "ratio", "random", "temporal"} <= set(SPLITTERS.names())
    with pytest.raises(KeyError, match="unknown splitter 'nope'"):
        make_split(ds, "nope")
    timed = _random_dataset()
    via_name = make_split(timed, "loo")
    direct = leave_one_out(timed)
    assert np.array_equal(_rows(via_name.test), _rows(direct.test))
