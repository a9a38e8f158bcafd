"""Ranking and rating metrics: a readable per-list reference and a batched torch version.

Conventions (shared by the reference and the batched functions, and tested against each
other on random data):

- **Binary relevance.** An item is relevant when it is in the user's truth set; grades are
  ignored.
- **The top-K list.** ``ranked`` / ``hits`` hold the user's ranked list, best first. The item
  index ``-1`` is padding (a list with fewer than K admissible items) and is never a hit. A list
  must not repeat an item.
- **Empty truth.** A metric over an empty truth set is undefined: the reference functions raise
  :class:`ValueError` and :func:`batched_metrics` refuses ``n_relevant == 0``. The evaluation
  protocol (:func:`sensorec.evaluation.evaluate_ranking`) drops such users *and counts them*;
  they are never scored as 0.
- ``hr@K`` (hit ratio): 1 when at least one of the first K items is relevant, else 0.
- ``precision@K``: hits in the first K divided by **K** (also when fewer than K items were
  ranked).
- ``recall@K``: hits in the first K divided by **n_relevant**, the full size of the truth set
  (not ``min(n_relevant, K)``), so a user with more than K truth items cannot reach 1.
- ``ndcg@K``: DCG with gain 1 and discount ``1 / log2(rank + 1)`` (rank 1-based), divided by
  the ideal DCG of ``min(n_relevant, K)`` hits at the top ranks; it is 1 for a perfect list.
- ``mrr@K``: ``1 / rank`` of the first relevant item within the first K, else 0.
- ``map@K``: the sum over relevant positions ``j <= K`` of ``precision@j``, divided by
  ``min(n_relevant, K)`` (so a perfect list scores 1 whatever the size of the truth set).

Rating metrics: :func:`rmse` and :func:`mae` over paired predictions and targets (nothing
clipped, NaN refused).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Sequence

import numpy as np
import torch

__all__ = [
    "RANKING_METRICS",
    "batched_metrics",
    "mae",
    "metric_key",
    "reference_hr",
    "reference_map",
    "reference_metric",
    "reference_mrr",
    "reference_ndcg",
    "reference_precision",
    "reference_recall",
    "rmse",
]

#: Names of the ranking metrics, in their canonical order.
RANKING_METRICS: tuple[str, ...] = ("hr", "recall", "precision", "ndcg", "mrr", "map")


def metric_key(name: str, k: int) -> str:
    """The key under which a metric at a cut-off is reported, e.g. ``"ndcg@10"``."""
    return f"{name}@{k}"


# --------------------------------------------------------------------------------------
# Reference implementations: one list at a time, plain Python, written to be read.
# --------------------------------------------------------------------------------------
def _top_hits(ranked: Sequence[int], relevant: Collection[int], k: int) -> tuple[list[bool], int]:
    """Hit flags of the first ``k`` entries of ``ranked`` and the size of the truth set."""
    if int(k) < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    truth = {int(i) for i in relevant}
    if not truth:
        raise ValueError(
            "the truth set is empty: ranking metrics are undefined for it "
            "(evaluate_ranking skips and counts such users)"
        )
    top = [int(i) for i in list(ranked)[: int(k)]]
    real = [i for i in top if i >= 0]
    if len(set(real)) != len(real):
        raise ValueError(f"the ranked list repeats an item: {top}")
    return [i >= 0 and i in truth for i in top], len(truth)


def reference_hr(ranked: Sequence[int], relevant: Collection[int], k: int) -> float:
    """Hit ratio at ``k``: 1.0 if any of the first ``k`` ranked items is relevant."""
    hits, _ = _top_hits(ranked, relevant, k)
    return 1.0 if any(hits) else 0.0


def reference_precision(ranked: Sequence[int], relevant: Collection[int], k: int) -> float:
    """Precision at ``k``: relevant items among the first ``k``, divided by ``k``."""
    hits, _ = _top_hits(ranked, relevant, k)
    return sum(hits) / int(k)


def reference_recall(ranked: Sequence[int], relevant: Collection[int], k: int) -> float:
    """Recall at ``k``: relevant items among the first ``k``, divided by ``len(relevant)``."""
    hits, n_rel = _top_hits(ranked, relevant, k)
    return sum(hits) / n_rel


def reference_ndcg(ranked: Sequence[int], relevant: Collection[int], k: int) -> float:
    """NDCG at ``k`` with binary gains; the ideal list has ``min(len(relevant), k)`` hits."""
    hits, n_rel = _top_hits(ranked, relevant, k)
    dcg = sum(1.0 / math.log2(pos + 2) for pos, hit in enumerate(hits) if hit)
    idcg = sum(1.0 / math.log2(pos + 2) for pos in range(min(n_rel, int(k))))
    return dcg / idcg


def reference_mrr(ranked: Sequence[int], relevant: Collection[int], k: int) -> float:
    """Reciprocal rank of the first relevant item within the first ``k``, else 0."""
    hits, _ = _top_hits(ranked, relevant, k)
    for pos, hit in enumerate(hits):
        if hit:
            return 1.0 / (pos + 1)
    return 0.0


def reference_map(ranked: Sequence[int], relevant: Collection[int], k: int) -> float:
    """Average precision at ``k``, normalised by ``min(len(relevant), k)``."""
    hits, n_rel = _top_hits(ranked, relevant, k)
    total = 0.0
    n_hits = 0
    for pos, hit in enumerate(hits):
        if hit:
            n_hits += 1
            total += n_hits / (pos + 1)
    return total / min(n_rel, int(k))


_REFERENCE: dict[str, Callable[[Sequence[int], Collection[int], int], float]] = {
    "hr": reference_hr,
    "recall": reference_recall,
    "precision": reference_precision,
    "ndcg": reference_ndcg,
    "mrr": reference_mrr,
    "map": reference_map,
}


def reference_metric(name: str, ranked: Sequence[int], relevant: Collection[int], k: int) -> float:
    """The reference implementation of the metric called ``name`` (see ``RANKING_METRICS``)."""
    return _REFERENCE[_check_names([name])[0]](ranked, relevant, k)


# --------------------------------------------------------------------------------------
# Batched implementation.
# --------------------------------------------------------------------------------------
def _check_names(names: Iterable[str]) -> list[str]:
    out = [str(n).lower() for n in names]
    unknown = [n for n in out if n not in RANKING_METRICS]
    if unknown:
        raise ValueError(f"unknown ranking metric(s) {unknown}; known: {list(RANKING_METRICS)}")
    if len(set(out)) != len(out):
        raise ValueError(f"metric names repeat: {out}")
    return out


def _check_ks(ks: Iterable[int]) -> list[int]:
    out = sorted({int(k) for k in ks})
    if not out or out[0] < 1:
        raise ValueError(f"cut-offs must be a non-empty set of integers >= 1, got {list(ks)}")
    return out


def batched_metrics(
    hits: torch.Tensor | np.ndarray,
    n_relevant: torch.Tensor | np.ndarray,
    ks: Iterable[int],
    names: Iterable[str] = RANKING_METRICS,
) -> dict[str, torch.Tensor]:
    """All ranking metrics at several cut-offs for a batch of users at once.

    Args:
        hits: ``[B, Kmax]`` bool; ``hits[b, j]`` is True when the item at rank ``j`` (0-based)
            of user ``b``'s top list is relevant. Padding positions must be False.
        n_relevant: ``[B]`` integer, size of each user's truth set; must be >= 1 (users with an
            empty truth set are excluded by the protocol, not scored).
        ks: cut-offs, each ``<= Kmax``.
        names: metric names among :data:`RANKING_METRICS`.

    Returns:
        ``{"<name>@<k>": Tensor[B] float64}`` on the device of ``hits``, with the conventions
        of the module docstring (the same values as the ``reference_*`` functions).
    """
    names = _check_names(names)
    ks = _check_ks(ks)
    hits_t = torch.as_tensor(hits)
    if hits_t.dim() != 2:
        raise ValueError(f"hits must be [B, Kmax], got shape {tuple(hits_t.shape)}")
    if hits_t.dtype != torch.bool:
        raise TypeError(f"hits must be a bool tensor, got {hits_t.dtype}")
    device = hits_t.device
    n_rel = torch.as_tensor(n_relevant, device=device)
    if n_rel.shape != (hits_t.shape[0],):
        raise ValueError(
            f"n_relevant must be [B]={hits_t.shape[0]}, got shape {tuple(n_rel.shape)}"
        )
    if n_rel.is_floating_point() or n_rel.dtype == torch.bool:
        raise TypeError(f"n_relevant must be integer, got {n_rel.dtype}")
    n_rel = n_rel.to(torch.int64)
    if n_rel.numel() and int(n_rel.min()) < 1:
        raise ValueError(
            f"{int((n_rel < 1).sum())} user(s) have n_relevant < 1; metrics are undefined for "
            "an empty truth set (the protocol skips and counts such users)"
        )
    k_max = hits_t.shape[1]
    if ks[-1] > k_max:
        raise ValueError(f"cut-off {ks[-1]} exceeds the {k_max} ranked positions in hits")

    h = hits_t.to(torch.float64)  # [B, Kmax]
    ranks = torch.arange(1, k_max + 1, dtype=torch.float64, device=device)  # [Kmax]
    discount = 1.0 / torch.log2(ranks + 1.0)  # [Kmax]
    ideal_cum = torch.cumsum(discount, 0)  # [Kmax] ideal DCG of the first j+1 hits
    cum_hits = torch.cumsum(h, dim=1)  # [B, Kmax]
    dcg_cum = torch.cumsum(h * discount, dim=1)  # [B, Kmax]
    ap_cum = torch.cumsum(h * cum_hits / ranks, dim=1)  # [B, Kmax] sum of precision@j at hits
    any_hit = hits_t.any(dim=1)  # [B]
    first_rank = torch.where(
        any_hit, hits_t.to(torch.int8).argmax(dim=1) + 1, torch.full_like(n_rel, k_max + 1)
    )  # [B] 1-based rank of the first hit, Kmax+1 if none
    n_rel_f = n_rel.to(torch.float64)

    out: dict[str, torch.Tensor] = {}
    for name in names:
        for k in ks:
            n_hit = cum_hits[:, k - 1]  # [B]
            capped = torch.clamp(n_rel, max=k)  # [B] min(n_relevant, k)
            if name == "hr":
                value = (n_hit > 0).to(torch.float64)
            elif name == "precision":
                value = n_hit / k
            elif name == "recall":
                value = n_hit / n_rel_f
            elif name == "ndcg":
                value = dcg_cum[:, k - 1] / ideal_cum[capped - 1]
            elif name == "mrr":
                value = torch.where(
                    first_rank <= k,
                    1.0 / first_rank.to(torch.float64),
                    torch.zeros((), dtype=torch.float64, device=device),
                )
            else:  # map
                value = ap_cum[:, k - 1] / capped.to(torch.float64)
            out[metric_key(name, k)] = value
    return out


# --------------------------------------------------------------------------------------
# Rating metrics.
# --------------------------------------------------------------------------------------
def _paired(predictions: Sequence[float] | np.ndarray, targets: Sequence[float] | np.ndarray):
    pred = np.asarray(predictions, dtype=np.float64).ravel()
    true = np.asarray(targets, dtype=np.float64).ravel()
    if pred.shape != true.shape:
        raise ValueError(f"{pred.size} predictions for {true.size} targets")
    if pred.size == 0:
        raise ValueError("no predictions to score")
    for label, arr in (("predictions", pred), ("targets", true)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(f"{int(bad.sum())} {label} are NaN or infinite")
    return pred, true


def rmse(predictions: Sequence[float] | np.ndarray, targets: Sequence[float] | np.ndarray) -> float:
    """Root mean squared error over paired predictions and targets (float64, nothing clipped)."""
    pred, true = _paired(predictions, targets)
    return float(np.sqrt(np.mean((pred - true) ** 2)))


def mae(predictions: Sequence[float] | np.ndarray, targets: Sequence[float] | np.ndarray) -> float:
    """Mean absolute error over paired predictions and targets (float64, nothing clipped)."""
    pred, true = _paired(predictions, targets)
    return float(np.mean(np.abs(pred - true)))
