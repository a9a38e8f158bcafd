"""Evaluation: ranking metrics (reference + batched), central top-K ranking, protocols.

This package sees scoring callables, never models::

    score_fn(users: LongTensor[B], items: LongTensor[C] | None) -> Tensor[B, C]

- :mod:`~sensorec.evaluation.metrics`: HR, Recall, Precision, NDCG, MRR, MAP at K (conventions
  in its docstring), RMSE, MAE.
- :mod:`~sensorec.evaluation.ranking`: :func:`topk_scores` (batched scoring, seen-item masking
  on the device, chunked top-K) and :func:`hits_from_topk`.
- :mod:`~sensorec.evaluation.protocol`: :func:`evaluate_ranking` (full or labelled sampled
  candidates) and :func:`evaluate_rating`.
"""

from __future__ import annotations

from sensorec.evaluation.metrics import (
    RANKING_METRICS,
    batched_metrics,
    mae,
    metric_key,
    reference_hr,
    reference_map,
    reference_metric,
    reference_mrr,
    reference_ndcg,
    reference_precision,
    reference_recall,
    rmse,
)
from sensorec.evaluation.protocol import (
    RankingResult,
    SampledCandidates,
    evaluate_ranking,
    evaluate_rating,
    sample_negatives,
)
from sensorec.evaluation.ranking import ScoreFn, hits_from_topk, topk_scores

__all__ = [
    "RANKING_METRICS",
    "RankingResult",
    "SampledCandidates",
    "ScoreFn",
    "batched_metrics",
    "evaluate_ranking",
    "evaluate_rating",
    "hits_from_topk",
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
    "sample_negatives",
    "topk_scores",
]
