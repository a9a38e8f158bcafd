"""Splitters: a :class:`Dataset` in, a :class:`Split` (train, valid, test) out.

All parts share the parent's vocabularies and tables and keep the parent's row order, so
their union (as a multiset of rows) is exactly the input and index ``i`` means the same item
everywhere. ``Split.protocol`` records the splitter, its parameters, the seed, the policies
below and the part sizes (plus how many test users / items never occur in train).

Conventions:

- **Time order and ties.** Time-based splitters order each user's interactions by timestamp
  with a *stable* sort, so interactions with equal timestamps keep the order of the source
  file (RecBole does the same). This matters: in ML-100K, 415 of the 943 users rated their
  last two movies within the same second, so "the last interaction" is the later line.
- **Short histories.** :func:`leave_one_out` puts every interaction of a user with fewer
  than 3 into train (counted as ``protocol["users_all_train"]``).
- **Rounding.** :func:`ratio_split` gives each user ``floor(n * ratio)`` valid and test
  interactions, then one more to an empty part with a positive ratio while the user keeps at
  least one train interaction (test first, then valid); train gets the rest.
  :func:`random_split` and :func:`temporal_split` round ``N * ratio`` half up.
- **Two ratios.** ``ratios=(train, test)`` means valid is carved out of train:
  ``(train * (1 - valid_ratio), train * valid_ratio, test)`` with ``valid_ratio`` 0.1
  unless given (0 gives an empty valid part).
- **Randomness.** Random protocols draw from ``numpy.random.default_rng(seed)``: the same
  seed gives the same split. Deterministic protocols ignore the seed.

Register a new protocol with ``@SPLITTERS.register("name")``; :func:`make_split` calls any
registered splitter by name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from sensorec.data.dataset import Dataset, Split
from sensorec.registry import Registry
from sensorec.utils import numpy_rng

logger = logging.getLogger("sensorec.data.splitting")

SPLITTERS: Registry[Callable[..., Split]] = Registry("splitter", group="sensorec.splitters")

TRAIN, VALID, TEST = 0, 1, 2
TIE_BREAK = "stable sort: equal timestamps keep file order"
_DEFAULT_VALID_RATIO = 0.1


# -- helpers ------------------------------------------------------------------------------------
def _require_timestamps(ds: Dataset, what: str) -> None:
    ts = ds.timestamps
    missing = int((ts < 0).sum())
    if missing:
        raise ValueError(
            f"{what} needs timestamps, but {missing} of {len(ts)} interactions of "
            f"{ds.name!r} have none; use a random order instead"
        )


def _three_ratios(ratios: Sequence[float], valid_ratio: float | None) -> tuple[float, float, float]:
    """``(train, valid, test)`` from 3 ratios, or from 2 plus ``valid_ratio``."""
    values = [float(r) for r in ratios]
    if any(r < 0 for r in values):
        raise ValueError(f"ratios must be >= 0, got {values}")
    if len(values) == 3:
        if valid_ratio is not None:
            raise ValueError("valid_ratio only applies to two ratios (train, test)")
        out = (values[0], values[1], values[2])
    elif len(values) == 2:
        vr = _DEFAULT_VALID_RATIO if valid_ratio is None else float(valid_ratio)
        if not 0.0 <= vr < 1.0:
            raise ValueError(f"valid_ratio must be in [0, 1), got {vr}")
        out = (values[0] * (1.0 - vr), values[0] * vr, values[1])
    else:
        raise ValueError(f"ratios must be (train, valid, test) or (train, test), got {values}")
    if abs(sum(out) - 1.0) > 1e-6:
        raise ValueError(f"ratios must sum to 1, got {values} (sum {sum(values)})")
    return (round(out[0], 12), round(out[1], 12), round(out[2], 12))


def _positions(ds: Dataset, key: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-interaction rank within its user (0 = first) under ``key`` (``None``: time, ties by
    file order), and the user's interaction count."""
    users = ds.user_index
    n = len(users)
    rows = np.arange(n)
    if key is None:
        order = np.lexsort((rows, ds.timestamps, users))
    else:
        order = np.lexsort((rows, key, users))
    counts = np.bincount(users, minlength=ds.n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(n, dtype=np.int64)
    rank[order] = rows - starts[users[order]]
    return rank, counts[users]


def _half_up(x: float) -> int:
    return int(np.floor(x + 0.5 + 1e-9))


def _assemble(ds: Dataset, part: np.ndarray, protocol: dict[str, Any]) -> Split:
    train, valid, test = (
        ds.subset(part == k, split_part=name)
        for k, name in ((TRAIN, "train"), (VALID, "valid"), (TEST, "test"))
    )
    train_users = np.bincount(train.user_index, minlength=ds.n_users) > 0
    train_items = np.bincount(train.item_index, minlength=ds.n_items) > 0
    test_users = np.unique(test.user_index)
    test_items = np.unique(test.item_index)
    protocol = {
        **protocol,
        "dataset": ds.name,
        "sizes": {"train": len(train), "valid": len(valid), "test": len(test)},
        "test_users_not_in_train": int((~train_users[test_users]).sum()),
        "test_items_not_in_train": int((~train_items[test_items]).sum()),
    }
    logger.info("split %s with %s: %s", ds.name, protocol["splitter"], protocol["sizes"])
    return Split(train=train, valid=valid, test=test, protocol=protocol)


# -- protocols ----------------------------------------------------------------------------------
@SPLITTERS.register("loo")
def leave_one_out(
    ds: Dataset, *, order: Literal["time", "random"] = "time", seed: int = 0
) -> Split:
    """Leave-one-out: per user, the last interaction is test and the one before is valid.

    ``order="time"`` orders each user's interactions by timestamp with ties in file order
    (stable sort); ``order="random"`` uses a random order drawn from ``seed``. Users with
    fewer than 3 interactions go entirely to train (``protocol["users_all_train"]``).
    """
    if order == "time":
        _require_timestamps(ds, "leave_one_out(order='time')")
        key = None
    elif order == "random":
        key = numpy_rng(seed).permutation(ds.n_interactions)
    else:
        raise ValueError(f"order must be 'time' or 'random', got {order!r}")
    rank, count = _positions(ds, key)
    from_end = count - 1 - rank
    eligible = count >= 3
    part = np.full(ds.n_interactions, TRAIN, dtype=np.int8)
    part[eligible & (from_end == 0)] = TEST
    part[eligible & (from_end == 1)] = VALID
    per_user = np.bincount(ds.user_index, minlength=ds.n_users)
    protocol = {
        "splitter": "loo",
        "order": order,
        "seed": seed if order == "random" else None,
        "tie_break": TIE_BREAK if order == "time" else None,
        "min_interactions": 3,
        "users_all_train": int(((per_user > 0) & (per_user < 3)).sum()),
    }
    return _assemble(ds, part, protocol)


@SPLITTERS.register("ratio")
def ratio_split(
    ds: Dataset,
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    *,
    seed: int = 0,
    by_time: bool = True,
    valid_ratio: float | None = None,
) -> Split:
    """Per-user ratio split: each user's interactions are ordered (by time, ties in file
    order, or randomly from ``seed`` when ``by_time=False``) and cut into train / valid /
    test by ``ratios`` (rounding in the module docstring)."""
    r_train, r_valid, r_test = _three_ratios(ratios, valid_ratio)
    if by_time:
        _require_timestamps(ds, "ratio_split(by_time=True)")
        key = None
    else:
        key = numpy_rng(seed).permutation(ds.n_interactions)
    rank, count = _positions(ds, key)
    n = np.bincount(ds.user_index, minlength=ds.n_users)
    k_test = np.floor(n * r_test + 1e-9).astype(np.int64)
    k_valid = np.floor(n * r_valid + 1e-9).astype(np.int64)
    if r_test > 0:
        k_test += (k_test == 0) & (n - k_test - k_valid >= 2)
    if r_valid > 0:
        k_valid += (k_valid == 0) & (n - k_test - k_valid >= 2)
    users = ds.user_index
    from_end = count - 1 - rank
    part = np.full(ds.n_interactions, TRAIN, dtype=np.int8)
    part[from_end < k_test[users] + k_valid[users]] = VALID
    part[from_end < k_test[users]] = TEST
    protocol = {
        "splitter": "ratio",
        "ratios": [r_train, r_valid, r_test],
        "by_time": by_time,
        "seed": None if by_time else seed,
        "tie_break": TIE_BREAK if by_time else None,
    }
    return _assemble(ds, part, protocol)


@SPLITTERS.register("random")
def random_split(
    ds: Dataset,
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    *,
    seed: int = 0,
    valid_ratio: float | None = None,
) -> Split:
    """Global random split of the interactions (rating prediction, e.g. ``(0.8, 0.2)`` with
    10 % of train held out as valid). Sizes are ``N * ratio`` rounded half up."""
    r_train, r_valid, r_test = _three_ratios(ratios, valid_ratio)
    total = ds.n_interactions
    n_test = _half_up(total * r_test)
    n_valid = min(_half_up(total * r_valid), total - n_test)
    perm = numpy_rng(seed).permutation(total)
    part = np.full(total, TRAIN, dtype=np.int8)
    part[perm[:n_test]] = TEST
    part[perm[n_test : n_test + n_valid]] = VALID
    protocol = {"splitter": "random", "ratios": [r_train, r_valid, r_test], "seed": seed}
    return _assemble(ds, part, protocol)


@SPLITTERS.register("temporal")
def temporal_split(
    ds: Dataset,
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    *,
    cuts: tuple[int, int] | None = None,
    seed: int = 0,
    valid_ratio: float | None = None,
) -> Split:
    """A global temporal cut: train before ``t_valid``, valid in ``[t_valid, t_test)``, test
    from ``t_test`` on.

    ``cuts=(t_valid, t_test)`` gives the cut timestamps (``ratios`` is then unused); otherwise they are the timestamps
    at positions ``N * train`` and ``N * (train + valid)`` (half up) of the sorted
    timestamps. Interactions sharing a timestamp always land in the same part, so the sizes
    can differ slightly from the ratios. Every valid interaction is strictly later than
    every train one, and every test one strictly later than every valid one.
    """
    _require_timestamps(ds, "temporal_split")
    ts = ds.timestamps
    used: dict[str, Any]
    if cuts is not None:
        t_valid, t_test = (int(c) for c in cuts)
        if t_valid > t_test:
            raise ValueError(f"cuts must be (t_valid, t_test) with t_valid <= t_test: {cuts}")
        used = {"cuts": [t_valid, t_test]}
    else:
        r_train, r_valid, r_test = _three_ratios(ratios, valid_ratio)
        sorted_ts = np.sort(ts, kind="stable")
        total = len(sorted_ts)
        end = int(sorted_ts[-1]) + 1 if total else 0

        def _cut(pos: int) -> int:
            return int(sorted_ts[pos]) if pos < total else end

        t_valid = _cut(_half_up(total * r_train))
        t_test = _cut(_half_up(total * (r_train + r_valid)))
        used = {"ratios": [r_train, r_valid, r_test], "cuts": [t_valid, t_test]}
    part = np.full(len(ts), TRAIN, dtype=np.int8)
    part[ts >= t_valid] = VALID
    part[ts >= t_test] = TEST
    protocol = {"splitter": "temporal", **used, "seed": None}
    return _assemble(ds, part, protocol)


def make_split(ds: Dataset, name: str, seed: int = 0, **params: Any) -> Split:
    """Run the registered splitter ``name`` (``loo``, ``ratio``, ``random``, ``temporal``, or
    one added through :data:`SPLITTERS`) with ``seed`` and its own parameters."""
    splitter = SPLITTERS.get(name)
    return splitter(ds, seed=seed, **params)
