"""Evaluation protocols: full ranking, sampled-candidate ranking, and rating prediction.

The protocol functions see a scoring callable, never a model (see
:mod:`sensorec.evaluation.ranking` for its contract), and matrices of item indices:

- ``truth``: ``[n_users, n_items]`` CSR, the held-out items of each user (every stored entry is
  relevant; values are ignored).
- ``exclude``: ``[n_users, n_items]`` CSR of items never to recommend (usually the training
  interactions, plus validation ones when testing), or ``None``.

Users whose truth row is empty are **skipped and counted** (``protocol
["n_users_skipped_empty_truth"]``), never scored as 0. Metric values do not depend on
``batch_size`` or ``item_chunk`` (given a scorer that scores each user independently and has no
ties).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
import torch

from sensorec.evaluation.metrics import (
    RANKING_METRICS,
    _check_ks,
    _check_names,
    batched_metrics,
    metric_key,
)
from sensorec.evaluation.ranking import (
    ScoreFn,
    _canonical,
    _check_scores,
    _check_users,
    hits_from_topk,
    topk_scores,
)
from sensorec.utils import numpy_rng, progress, resolve_device

__all__ = [
    "RankingResult",
    "SampledCandidates",
    "evaluate_ranking",
    "evaluate_rating",
    "sample_negatives",
]

logger = logging.getLogger("sensorec.evaluation")

#: ``predict_fn(users [B], items [B]) -> predictions [B]``
PredictFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class SampledCandidates:
    """Rank each user's truth items among ``n`` sampled negatives instead of all items.

    Negatives are drawn without replacement, never among the user's truth or excluded items,
    from a seeded generator (``evaluate_ranking(seed=...)`` is required). ``"uniform"`` draws
    every admissible item with equal probability; ``"popularity"`` proportionally to
    ``popularity`` (``[n_items]``, non-negative, e.g. training interaction counts; items with
    weight 0 are never drawn).

    Sampled metrics are not comparable with full-ranking ones (they overestimate and can
    reorder models, Krichene & Rendle, KDD 2020); results carry :attr:`label` in their
    ``protocol["candidates"]`` so they are never printed unlabelled.
    """

    n: int
    strategy: Literal["uniform", "popularity"] = "uniform"
    popularity: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if int(self.n) < 1:
            raise ValueError(f"SampledCandidates.n must be >= 1, got {self.n}")
        if self.strategy not in ("uniform", "popularity"):
            raise ValueError(
                f"SampledCandidates.strategy must be 'uniform' or 'popularity', "
                f"got {self.strategy!r}"
            )
        if self.strategy == "popularity":
            if self.popularity is None:
                raise ValueError("strategy 'popularity' needs the popularity array [n_items]")
            pop = np.asarray(self.popularity, dtype=np.float64)
            if pop.ndim != 1 or not np.isfinite(pop).all() or (pop < 0).any():
                raise ValueError("popularity must be a 1-D array of finite non-negative weights")
            if pop.sum() <= 0:
                raise ValueError("popularity weights sum to 0")
        elif self.popularity is not None:
            raise ValueError("popularity is only used with strategy='popularity'")

    @property
    def label(self) -> str:
        """Short protocol name printed beside the metrics, e.g. ``"sampled-100-uniform"``."""
        return f"sampled-{int(self.n)}-{self.strategy}"

    def probabilities(self, n_items: int) -> np.ndarray | None:
        """Sampling probabilities ``[n_items]``, or ``None`` for uniform."""
        if self.strategy == "uniform":
            return None
        pop = np.asarray(self.popularity, dtype=np.float64)
        if pop.shape != (n_items,):
            raise ValueError(f"popularity has {pop.shape[0]} entries but n_items={n_items}")
        return pop / pop.sum()


@dataclass
class RankingResult:
    """Outcome of :func:`evaluate_ranking`.

    Attributes:
        users: ``[U]`` int64, the evaluated users (those with at least one truth item), in the
            order of the per-user arrays.
        per_user: ``{"ndcg@10": [U] float64, ...}``, kept for paired significance tests.
        means: the mean of each per-user array.
        protocol: how the numbers were made: ``candidates`` (``"full"`` or a sampled label such
            as ``"sampled-100-uniform"``), ``ks``, ``metrics``, ``n_users_evaluated``,
            ``n_users_skipped_empty_truth``, ``n_truth_items_excluded``, ``ties``, ``seed``.
    """

    users: np.ndarray
    per_user: dict[str, np.ndarray]
    means: dict[str, float]
    protocol: dict[str, Any]

    @property
    def label(self) -> str:
        """``"full"`` or the sampled-candidates label."""
        return str(self.protocol["candidates"])

    def to_dict(self, per_user: bool = False) -> dict[str, Any]:
        """JSON-ready dict: means and protocol (and per-user values when asked)."""
        out: dict[str, Any] = {
            "means": {key: float(v) for key, v in self.means.items()},
            "protocol": dict(self.protocol),
        }
        if per_user:
            out["users"] = self.users.tolist()
            out["per_user"] = {key: v.tolist() for key, v in self.per_user.items()}
        return out

    def summary(self) -> str:
        """A few printable lines, each metric labelled with the candidate protocol."""
        p = self.protocol
        head = (
            f"[{self.label}] {p['n_users_evaluated']} users evaluated, "
            f"{p['n_users_skipped_empty_truth']} skipped (empty truth)"
        )
        width = max((len(key) for key in self.means), default=0)
        lines = [f"  {key:<{width}}  {v:.4f}" for key, v in self.means.items()]
        return "\n".join([head, *lines])


def _pattern(mat: sp.spmatrix) -> sp.csr_matrix:
    """Canonical CSR with every stored entry set to 1."""
    out = _canonical(mat)
    out.data = np.ones_like(out.data, dtype=np.float32)
    return out


def sample_negatives(
    forbidden: sp.csr_matrix,
    n: int,
    rng: np.random.Generator,
    probabilities: np.ndarray | None = None,
    *,
    max_rounds: int = 6,
) -> np.ndarray:
    """Draw ``n`` distinct items per row, none of them stored in that row of ``forbidden``.

    Rejection sampling in rounds over all pending rows at once (draw with replacement from
    ``probabilities``, drop forbidden items and repeats, keep the first ``n``), which is exact
    sampling without replacement; rows still short after ``max_rounds`` fall back to a dense
    Gumbel top-``n`` over all items. No per-row Python loop.

    Args:
        forbidden: ``[R, n_items]`` CSR, items that must not be drawn for each row.
        n: negatives per row.
        rng: numpy generator (the only source of randomness).
        probabilities: ``[n_items]`` summing to 1, or ``None`` for uniform.

    Returns:
        ``[R, n]`` int64 item indices.

    Raises:
        ValueError: when some row has fewer than ``n`` admissible items.
    """
    n = int(n)
    n_rows, n_items = forbidden.shape
    forb = _canonical(forbidden)
    lengths = np.diff(forb.indptr)
    row_of_entry = np.repeat(np.arange(n_rows, dtype=np.int64), lengths)
    keys = row_of_entry * n_items + forb.indices.astype(np.int64)  # [nnz], sorted
    if probabilities is None:
        available = n_items - lengths
    else:
        positive = probabilities > 0
        blocked = np.bincount(
            row_of_entry, weights=positive[forb.indices].astype(np.float64), minlength=n_rows
        )
        available = int(positive.sum()) - blocked.astype(np.int64)
    short = available < n
    if short.any():
        raise ValueError(
            f"{int(short.sum())} user(s) have fewer than n={n} admissible negative items "
            f"(smallest: {int(available.min())}); lower n or use full ranking"
        )

    def is_forbidden(rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        if keys.size == 0:
            return np.zeros(items.shape, dtype=bool)
        query = rows[:, None] * n_items + items
        pos = np.minimum(np.searchsorted(keys, query), keys.size - 1)
        return keys[pos] == query

    out = np.empty((n_rows, n), dtype=np.int64)
    pending = np.arange(n_rows, dtype=np.int64)
    buffer = np.empty((n_rows, 0), dtype=np.int64)
    width = max(2 * n, 16)
    for _ in range(max_rounds):
        if pending.size == 0:
            break
        if probabilities is None:
            new = rng.integers(0, n_items, size=(pending.size, width), dtype=np.int64)
        else:
            new = rng.choice(n_items, size=(pending.size, width), p=probabilities)
        buffer = np.concatenate([buffer, new.astype(np.int64)], axis=1)
        order = np.argsort(buffer, axis=1, kind="stable")
        in_order = np.take_along_axis(buffer, order, axis=1)
        repeat_sorted = np.zeros(buffer.shape, dtype=bool)
        repeat_sorted[:, 1:] = in_order[:, 1:] == in_order[:, :-1]
        repeat = np.empty_like(repeat_sorted)
        np.put_along_axis(repeat, order, repeat_sorted, axis=1)
        ok = ~repeat & ~is_forbidden(pending, buffer)
        done = ok.sum(axis=1) >= n
        if done.any():
            first_ok = np.argsort(~ok[done], axis=1, kind="stable")[:, :n]
            out[pending[done]] = np.take_along_axis(buffer[done], first_ok, axis=1)
        pending, buffer = pending[~done], buffer[~done]
        width *= 2
    if pending.size:
        # dense fallback: Gumbel top-n (exact weighted sampling without replacement)
        logp = (
            np.zeros(n_items)
            if probabilities is None
            else np.log(np.where(probabilities > 0, probabilities, 1.0))
            + np.where(probabilities > 0, 0.0, -np.inf)
        )
        rows_per_step = max(1, (1 << 22) // n_items)
        for s in range(0, pending.size, rows_per_step):
            rows = pending[s : s + rows_per_step]
            key = logp[None, :] + rng.gumbel(size=(rows.size, n_items))
            sub = forb[rows]
            key[np.repeat(np.arange(rows.size), np.diff(sub.indptr)), sub.indices] = -np.inf
            out[rows] = np.argpartition(-key, n - 1, axis=1)[:, :n]
    return out


def _sampled_hits(
    score_fn: ScoreFn,
    users: np.ndarray,
    truth: sp.csr_matrix,
    negatives: np.ndarray,
    k_max: int,
    *,
    batch_size: int,
    item_chunk: int | None,
    device: torch.device,
) -> np.ndarray:
    """``[U, k_max]`` hits of each user's truth items ranked among its negatives.

    Ties are broken pessimistically: a negative with the same score as a truth item ranks
    above it (stable sort with negatives laid out first), so a constant scorer earns nothing.
    """
    n_users, n_neg = negatives.shape
    hits = np.zeros((n_users, k_max), dtype=bool)
    n_nan_users = 0
    starts = range(0, n_users, batch_size)
    with torch.no_grad():
        for start in progress(starts, desc="ranking (sampled)", total=len(starts)):
            stop = min(start + batch_size, n_users)
            b = stop - start
            rows_t = truth[start:stop]
            lengths = np.diff(rows_t.indptr)
            width = int(lengths.max())
            truth_pad = np.full((b, width), -1, dtype=np.int64)  # [B, T]
            entry_row = np.repeat(np.arange(b), lengths)
            entry_col = np.arange(rows_t.nnz) - np.repeat(rows_t.indptr[:-1], lengths)
            truth_pad[entry_row, entry_col] = rows_t.indices
            cand = np.concatenate([negatives[start:stop], truth_pad], axis=1)  # [B, N + T]
            relevant = np.concatenate(
                [np.zeros((b, n_neg), dtype=bool), truth_pad >= 0], axis=1
            )  # [B, N + T]
            union = np.unique(cand[cand >= 0])  # [C] items any user of the batch needs
            batch = torch.as_tensor(users[start:stop], device=device)
            union_t = torch.as_tensor(union, device=device)
            step = len(union) if item_chunk is None else item_chunk
            parts = []
            for c0 in range(0, len(union), step):
                chunk = union_t[c0 : c0 + step]
                parts.append(_check_scores(score_fn(batch, chunk), b, len(chunk), device))
            scores_union = torch.cat(parts, dim=1)  # [B, C]
            col = torch.as_tensor(np.searchsorted(union, np.maximum(cand, 0)), device=device)
            valid = torch.as_tensor(cand >= 0, device=device)  # [B, N + T]
            cand_scores = torch.gather(scores_union, 1, col)  # [B, N + T]
            n_nan_users += int((torch.isnan(cand_scores) & valid).any(dim=1).sum())
            cand_scores = cand_scores.masked_fill(~valid, float("-inf"))
            order = torch.sort(cand_scores, dim=1, descending=True, stable=True).indices
            ranked_rel = torch.gather(torch.as_tensor(relevant, device=device), 1, order)
            take = min(k_max, ranked_rel.shape[1])
            hits[start:stop, :take] = ranked_rel[:, :take].cpu().numpy()
    if n_nan_users:
        raise ValueError(
            f"score_fn returned NaN scores for {n_nan_users} of {n_users} users; "
            "fix the model (a diverged training run?) before evaluating"
        )
    return hits


def evaluate_ranking(
    score_fn: ScoreFn,
    truth: sp.csr_matrix,
    exclude: sp.csr_matrix | None,
    n_items: int,
    *,
    ks: Sequence[int] = (5, 10, 20),
    metrics: Sequence[str] = RANKING_METRICS,
    users: np.ndarray | None = None,
    batch_size: int = 1024,
    item_chunk: int | None = None,
    device: str | torch.device | None = "cpu",
    candidates: Literal["full"] | SampledCandidates = "full",
    seed: int | None = None,
) -> RankingResult:
    """Top-K ranking metrics of a scorer against held-out truth.

    Args:
        score_fn: ``(users [B], items [C] | None) -> scores [B, C]``.
        truth: ``[n_users, n_items]`` CSR of held-out relevant items.
        exclude: ``[n_users, n_items]`` CSR of items never ranked (seen items), or ``None``.
        n_items: number of items.
        ks: cut-offs; metrics are reported as ``"<metric>@<k>"``.
        metrics: names among ``hr, recall, precision, ndcg, mrr, map`` (conventions in
            :mod:`sensorec.evaluation.metrics`).
        users: users to evaluate (``[U]``, no repeats); default all rows of ``truth``. Those
            with an empty truth row are skipped and counted.
        batch_size: users scored at once (results do not depend on it).
        item_chunk: score items in chunks of this size to bound memory.
        device: where scoring, masking and ranking run.
        candidates: ``"full"`` ranks all items not in ``exclude`` (ties as
            :func:`torch.topk` breaks them); a :class:`SampledCandidates` ranks each user's
            truth items among sampled negatives (ties broken pessimistically), labelled in
            ``protocol["candidates"]``.
        seed: seed of the negative sampler; required with sampled candidates.

    Returns:
        A :class:`RankingResult`.

    Raises:
        ValueError: on NaN scores (naming how many users had them), inconsistent shapes, no
            user with truth, or users with too few admissible negatives.
    """
    ks = _check_ks(ks)
    names = _check_names(metrics)
    n_items = int(n_items)
    if not sp.issparse(truth):
        raise TypeError("truth must be a scipy.sparse CSR matrix [n_users, n_items]")
    if truth.shape[1] != n_items:
        raise ValueError(f"truth has {truth.shape[1]} columns but n_items={n_items}")
    if exclude is not None:
        if not sp.issparse(exclude):
            raise TypeError("exclude must be a scipy.sparse CSR matrix or None")
        if exclude.shape != truth.shape:
            raise ValueError(f"exclude has shape {exclude.shape}, truth has {truth.shape}")
        exclude = sp.csr_matrix(exclude)
    if candidates != "full" and not isinstance(candidates, SampledCandidates):
        raise ValueError(f"candidates must be 'full' or SampledCandidates, got {candidates!r}")
    if isinstance(candidates, SampledCandidates) and seed is None:
        raise ValueError("sampled candidates need an explicit seed")
    dev = resolve_device(device)

    truth = _canonical(truth)
    if users is None:
        asked = np.arange(truth.shape[0], dtype=np.int64)
    else:
        asked = _check_users(users, truth.shape[0], "users")
        if np.unique(asked).size != asked.size:
            raise ValueError("users repeats a user index; each user is evaluated once")
    n_relevant_all = np.diff(truth.indptr)[asked]
    keep = n_relevant_all > 0
    eval_users = asked[keep]
    n_skipped = int((~keep).sum())
    if n_skipped:
        logger.info("skipping %d user(s) with no truth item", n_skipped)
    if eval_users.size == 0:
        raise ValueError(f"none of the {asked.size} users has a truth item; nothing to evaluate")
    truth_rows = truth[eval_users]  # [U, n_items]
    n_relevant = np.diff(truth_rows.indptr)  # [U]
    exclude_rows = _pattern(exclude[eval_users]) if exclude is not None else None
    n_truth_excluded = (
        int(_pattern(truth_rows).multiply(exclude_rows).sum()) if exclude_rows is not None else 0
    )
    k_max = ks[-1]

    if candidates == "full":
        if n_truth_excluded:
            logger.warning(
                "%d truth item(s) are also in exclude: masked, they can never be hit",
                n_truth_excluded,
            )
        top_items, _ = topk_scores(
            score_fn,
            eval_users,
            k_max,
            exclude,
            n_items,
            batch_size=batch_size,
            item_chunk=item_chunk,
            device=dev,
        )
        hits = hits_from_topk(top_items, truth_rows)
        label, ties = "full", "torch.topk order (implementation-defined, deterministic)"
    else:
        assert seed is not None  # checked above
        forbidden = _pattern(truth_rows)
        if exclude_rows is not None:
            forbidden = forbidden + exclude_rows
        negatives = sample_negatives(
            forbidden, candidates.n, numpy_rng(int(seed)), candidates.probabilities(n_items)
        )
        hits = _sampled_hits(
            score_fn,
            eval_users,
            truth_rows,
            negatives,
            k_max,
            batch_size=batch_size,
            item_chunk=item_chunk,
            device=dev,
        )
        label, ties = candidates.label, "pessimistic (a tied negative ranks first)"

    values = batched_metrics(torch.from_numpy(hits), torch.from_numpy(n_relevant), ks, names)
    per_user = {key: v.cpu().numpy().astype(np.float64) for key, v in values.items()}
    means = {key: float(v.mean()) for key, v in per_user.items()}
    protocol: dict[str, Any] = {
        "candidates": label,
        "ks": ks,
        "metrics": names,
        "n_items": n_items,
        "n_users_evaluated": int(eval_users.size),
        "n_users_skipped_empty_truth": n_skipped,
        "n_truth_items_excluded": n_truth_excluded,
        "ties": ties,
        "seed": None if seed is None else int(seed),
    }
    # keep the documented key order: metric-major, then cut-off
    order = [metric_key(name, k) for name in names for k in ks]
    return RankingResult(
        users=eval_users,
        per_user={key: per_user[key] for key in order},
        means={key: means[key] for key in order},
        protocol=protocol,
    )


def evaluate_rating(
    predict_fn: PredictFn,
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    batch_size: int = 4096,
    *,
    device: str | torch.device | None = "cpu",
) -> dict[str, Any]:
    """RMSE and MAE of rating predictions; nothing is clipped.

    Args:
        predict_fn: ``(users [B], items [B]) -> predictions [B]``.
        users, items: ``[N]`` integer indices of the rated pairs.
        ratings: ``[N]`` true ratings.
        batch_size: pairs predicted at once.
        device: where ``predict_fn`` receives its index tensors.

    Returns:
        ``{"rmse": float, "mae": float, "n": int, "squared_errors": [N] float64,
        "absolute_errors": [N] float64}``.

    Raises:
        ValueError: on mismatched lengths, no pairs, non-finite ratings, or NaN / infinite
            predictions (naming how many).
    """
    u = np.asarray(users)
    i = np.asarray(items)
    r = np.asarray(ratings, dtype=np.float64)
    if not (u.ndim == i.ndim == r.ndim == 1) or not (len(u) == len(i) == len(r)):
        raise ValueError(
            f"users, items, ratings must be 1-D of equal length, got shapes "
            f"{u.shape}, {i.shape}, {r.shape}"
        )
    if len(r) == 0:
        raise ValueError("no rated pairs to evaluate")
    for what, arr in (("users", u), ("items", i)):
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{what} must hold integer indices, got dtype {arr.dtype}")
    if not np.isfinite(r).all():
        raise ValueError(f"{int((~np.isfinite(r)).sum())} ratings are NaN or infinite")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    dev = resolve_device(device)
    pred = np.empty(len(r), dtype=np.float64)
    with torch.no_grad():
        for s in range(0, len(r), batch_size):
            ub = torch.as_tensor(u[s : s + batch_size].astype(np.int64), device=dev)
            ib = torch.as_tensor(i[s : s + batch_size].astype(np.int64), device=dev)
            out = predict_fn(ub, ib)
            if not isinstance(out, torch.Tensor) or tuple(out.shape) != (len(ub),):
                shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                raise ValueError(f"predict_fn must return a [B]={len(ub)} tensor, got {shape}")
            pred[s : s + len(ub)] = out.detach().to(torch.float64).cpu().numpy()
    bad = ~np.isfinite(pred)
    if bad.any():
        raise ValueError(f"predict_fn returned NaN or infinite values for {int(bad.sum())} pairs")
    err = pred - r
    sq = err**2
    ab = np.abs(err)
    return {
        "rmse": float(np.sqrt(sq.mean())),
        "mae": float(ab.mean()),
        "n": len(r),
        "squared_errors": sq,
        "absolute_errors": ab,
    }
