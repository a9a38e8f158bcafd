"""Metrics: hand-computed values, the reference against the batched version, rating errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sensorec.evaluation import (
    RANKING_METRICS,
    batched_metrics,
    mae,
    reference_hr,
    reference_map,
    reference_metric,
    reference_mrr,
    reference_ndcg,
    reference_precision,
    reference_recall,
    rmse,
)


def test_hand_computed_values() -> None:
    # ranked: hits at ranks 2 and 4 (1-based); 3 relevant items, one never ranked
    ranked = [10, 7, 11, 3, 12]
    relevant = {7, 3, 99}
    assert reference_hr(ranked, relevant, 1) == 0.0
    assert reference_hr(ranked, relevant, 2) == 1.0
    assert reference_precision(ranked, relevant, 4) == pytest.approx(2 / 4)
    assert reference_recall(ranked, relevant, 4) == pytest.approx(2 / 3)
    assert reference_recall(ranked, relevant, 2) == pytest.approx(1 / 3)
    assert reference_mrr(ranked, relevant, 5) == pytest.approx(1 / 2)
    assert reference_mrr(ranked, relevant, 1) == 0.0
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert reference_ndcg(ranked, relevant, 5) == pytest.approx(dcg / idcg)
    # MAP@4: (1/2 + 2/4) / min(3, 4)
    assert reference_map(ranked, relevant, 4) == pytest.approx((0.5 + 0.5) / 3)
    # MAP@2 and NDCG@2 normalise by min(3, 2) = 2 ideal hits
    assert reference_map(ranked, relevant, 2) == pytest.approx(0.5 / 2)
    assert reference_ndcg(ranked, relevant, 2) == pytest.approx(
        (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    )


def test_recall_denominator_is_the_full_truth_set() -> None:
    # 5 relevant, all top-2 positions hit: recall@2 = 2/5, not 2/min(5, 2)
    assert reference_recall([1, 2], {1, 2, 3, 4, 5}, 2) == pytest.approx(0.4)
    assert reference_ndcg([1, 2], {1, 2, 3, 4, 5}, 2) == pytest.approx(1.0)
    assert reference_map([1, 2], {1, 2, 3, 4, 5}, 2) == pytest.approx(1.0)


def test_padding_and_short_lists() -> None:
    # -1 pads a short list and is never a hit, even if someone lists -1 as relevant
    assert reference_hr([-1, -1], {-1, 5}, 2) == 0.0
    assert reference_precision([5], {5}, 10) == pytest.approx(0.1)


def test_empty_truth_and_bad_input_are_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        reference_ndcg([1, 2], set(), 2)
    with pytest.raises(ValueError, match="k must be"):
        reference_hr([1], {1}, 0)
    with pytest.raises(ValueError, match="repeats"):
        reference_hr([1, 1], {1}, 2)
    with pytest.raises(ValueError, match="unknown"):
        reference_metric("auc", [1], {1}, 1)
    with pytest.raises(ValueError, match="n_relevant < 1"):
        batched_metrics(torch.ones(2, 3, dtype=torch.bool), torch.tensor([1, 0]), [1])
    with pytest.raises(ValueError, match="exceeds"):
        batched_metrics(torch.ones(2, 3, dtype=torch.bool), torch.tensor([1, 1]), [4])
    with pytest.raises(TypeError, match="bool"):
        batched_metrics(torch.ones(2, 3), torch.tensor([1, 1]), [1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batched_equals_reference_on_random_lists(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_lists, n_items, k_max = 300, 40, 15
    ks = [1, 3, 5, 10, 15]
    ranked_all = np.empty((n_lists, k_max), dtype=np.int64)
    truths = []
    for b in range(n_lists):
        ranked = rng.permutation(n_items)[:k_max]
        n_pad = rng.integers(0, 4) if rng.random() < 0.2 else 0  # some short, padded lists
        if n_pad:
            ranked[-n_pad:] = -1
        ranked_all[b] = ranked
        n_rel = int(rng.integers(1, 25))
        truths.append(set(rng.choice(n_items, size=n_rel, replace=False).tolist()))
    hits = np.array([[i in t for i in row] for row, t in zip(ranked_all, truths, strict=True)])
    n_relevant = np.array([len(t) for t in truths])
    got = batched_metrics(torch.from_numpy(hits), torch.from_numpy(n_relevant), ks)
    assert set(got) == {f"{m}@{k}" for m in RANKING_METRICS for k in ks}
    for name in RANKING_METRICS:
        for k in ks:
            want = np.array(
                [
                    reference_metric(name, list(r), t, k)
                    for r, t in zip(ranked_all, truths, strict=True)
                ]
            )
            value = got[f"{name}@{k}"]
            assert value.dtype == torch.float64 and value.shape == (n_lists,)
            np.testing.assert_allclose(value.numpy(), want, rtol=1e-12, atol=1e-15)
    # the random data exercise both ends of the range
    assert 0 < got["hr@5"].mean() < 1


def test_batched_perfect_and_empty_lists() -> None:
    hits = torch.tensor([[True, True, False], [False, False, False]])
    got = batched_metrics(hits, torch.tensor([2, 4]), [3], ["ndcg", "map", "mrr", "hr"])
    assert got["ndcg@3"].tolist() == pytest.approx([1.0, 0.0])
    assert got["map@3"].tolist() == pytest.approx([1.0, 0.0])
    assert got["mrr@3"].tolist() == [1.0, 0.0]
    assert got["hr@3"].tolist() == [1.0, 0.0]


def test_rmse_and_mae() -> None:
    pred, true = [3.0, 5.0, 1.0, 4.0], [2.0, 5.0, 3.0, 4.0]
    assert rmse(pred, true) == pytest.approx(math.sqrt((1 + 0 + 4 + 0) / 4))
    assert mae(pred, true) == pytest.approx((1 + 0 + 2 + 0) / 4)
    # out-of-scale predictions are not clipped
    assert rmse([10.0], [5.0]) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="NaN"):
        rmse([float("nan"), 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="2 predictions for 3 targets"):
        mae([1.0, 2.0], [1.0, 2.0, 3.0])
