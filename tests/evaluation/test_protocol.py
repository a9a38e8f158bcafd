"""Protocols: full and sampled ranking evaluation, skipped users, labels, rating errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sensorec.evaluation import (
    RankingResult,
    SampledCandidates,
    evaluate_ranking,
    evaluate_rating,
    reference_metric,
    sample_negatives,
)

N_USERS, N_ITEMS = 40, 60


def _data(seed: int = 0):
    """Random train (exclude) and test (truth) matrices; users 0 and 7 have no test items."""
    rng = np.random.default_rng(seed)
    cells = rng.random((N_USERS, N_ITEMS))
    train = cells < 0.25
    test = (cells >= 0.25) & (cells < 0.35)
    test[[0, 7]] = False
    scores = torch.from_numpy(rng.standard_normal((N_USERS, N_ITEMS)))  # no ties
    return sp.csr_matrix(train.astype(np.float32)), sp.csr_matrix(test.astype(np.float32)), scores


def _table_scorer(scores: torch.Tensor):
    def score_fn(users: torch.Tensor, items: torch.Tensor | None) -> torch.Tensor:
        rows = scores[users]
        return rows if items is None else rows[:, items]

    return score_fn


def test_full_ranking_matches_reference_metrics_per_user() -> None:
    train, test, scores = _data()
    res = evaluate_ranking(_table_scorer(scores), test, train, N_ITEMS, ks=(3, 10))
    assert isinstance(res, RankingResult)
    np.testing.assert_array_equal(res.users, np.setdiff1d(np.arange(N_USERS), [0, 7]))
    s, tr, te = scores.numpy(), train.toarray() > 0, test.toarray() > 0
    for row, u in enumerate(res.users):
        allowed = np.flatnonzero(~tr[u])
        ranked = allowed[np.argsort(-s[u, allowed])].tolist()
        truth = set(np.flatnonzero(te[u]).tolist())
        for name in ("hr", "recall", "precision", "ndcg", "mrr", "map"):
            for k in (3, 10):
                assert res.per_user[f"{name}@{k}"][row] == pytest.approx(
                    reference_metric(name, ranked, truth, k), abs=1e-12
                )
    assert list(res.means) == [f"{m}@{k}" for m in res.protocol["metrics"] for k in (3, 10)]
    assert res.means["ndcg@10"] == pytest.approx(res.per_user["ndcg@10"].mean())


def test_users_without_truth_are_skipped_and_counted() -> None:
    train, test, scores = _data()
    res = evaluate_ranking(_table_scorer(scores), test, train, N_ITEMS)
    assert res.protocol["n_users_skipped_empty_truth"] == 2
    assert res.protocol["n_users_evaluated"] == N_USERS - 2
    assert all(len(v) == N_USERS - 2 for v in res.per_user.values())
    assert 0 not in res.users and 7 not in res.users
    sub = evaluate_ranking(_table_scorer(scores), test, train, N_ITEMS, users=np.array([7, 3, 0]))
    assert sub.users.tolist() == [3]
    assert sub.protocol["n_users_skipped_empty_truth"] == 2
    with pytest.raises(ValueError, match="none of the 2 users"):
        evaluate_ranking(_table_scorer(scores), test, train, N_ITEMS, users=np.array([0, 7]))


def test_perfect_scorer_gets_ndcg_and_hr_of_one() -> None:
    train, test, _ = _data()
    perfect = torch.from_numpy(test.toarray()).double()  # truth items 1, others 0
    for cand, seed in (("full", None), (SampledCandidates(20), 0)):
        res = evaluate_ranking(
            _table_scorer(perfect), test, train, N_ITEMS, ks=(5, 10), candidates=cand, seed=seed
        )
        for k in (5, 10):
            assert res.means[f"hr@{k}"] == 1.0
            assert res.means[f"ndcg@{k}"] == pytest.approx(1.0)
            assert res.means[f"map@{k}"] == pytest.approx(1.0)
            assert res.means[f"mrr@{k}"] == 1.0


@pytest.mark.parametrize("batch_size", [1, 3, 16, 1024])
def test_results_do_not_depend_on_batch_size_or_chunks(batch_size: int) -> None:
    train, test, scores = _data(seed=1)
    ref = evaluate_ranking(_table_scorer(scores), test, train, N_ITEMS, batch_size=40)
    for chunk in (None, 7):
        got = evaluate_ranking(
            _table_scorer(scores), test, train, N_ITEMS, batch_size=batch_size, item_chunk=chunk
        )
        for key in ref.per_user:
            np.testing.assert_array_equal(ref.per_user[key], got.per_user[key])
        sampled = [
            evaluate_ranking(
                _table_scorer(scores),
                test,
                train,
                N_ITEMS,
                batch_size=bs,
                item_chunk=chunk,
                candidates=SampledCandidates(15),
                seed=3,
            )
            for bs in (batch_size, 40)
        ]
        for key in ref.per_user:
            np.testing.assert_array_equal(sampled[0].per_user[key], sampled[1].per_user[key])


def test_sampled_evaluation_is_labelled_and_deterministic() -> None:
    train, test, scores = _data(seed=2)
    cand = SampledCandidates(n=10, strategy="uniform")
    assert cand.label == "sampled-10-uniform"
    a = evaluate_ranking(_table_scorer(scores), test, train, N_ITEMS, candidates=cand, seed=5)
    b = evaluate_ranking(_table_scorer(scores), test, train, N_ITEMS, candidates=cand, seed=5)
    c = evaluate_ranking(_table_scorer(scores), test, train, N_ITEMS, candidates=cand, seed=6)
    full = evaluate_ranking(_table_scorer(scores), test, train, N_ITEMS)
    assert a.protocol["candidates"] == a.label == "sampled-10-uniform"
    assert full.protocol["candidates"] == "full"
    assert "ndcg@10" in a.means  # same keys, the label says how they were made
    assert a.means == b.means
    assert a.means != c.means
    # few candidates: sampled scores exceed full-ranking ones for a random scorer
    assert a.means["hr@10"] > full.means["hr@10"]
    assert "sampled-10-uniform" in a.summary()
    payload = json.loads(json.dumps(a.to_dict()))
    assert payload["protocol"]["candidates"] == "sampled-10-uniform"
    assert "per_user" not in payload and len(a.to_dict(per_user=True)["per_user"]["hr@5"]) == 38


def test_sampled_ranking_by_hand() -> None:
    # one user, truth {0}; every other admissible item is a negative (n = all of them)
    truth = sp.csr_matrix(np.array([[1, 0, 0, 0, 0]]))
    exclude = sp.csr_matrix(np.array([[0, 1, 0, 0, 0]]))
    scores = torch.tensor([[0.5, 9.0, 0.7, 0.1, 0.6]])
    res = evaluate_ranking(
        _table_scorer(scores),
        truth,
        exclude,
        5,
        ks=(1, 3),
        candidates=SampledCandidates(3),
        seed=0,
    )
    # candidates {0, 2, 3, 4}: order 2 (0.7), 4 (0.6), 0 (0.5), 3 -> truth at rank 3
    assert res.means["hr@1"] == 0.0
    assert res.means["mrr@3"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="fewer than n=4"):
        evaluate_ranking(
            _table_scorer(scores), truth, exclude, 5, candidates=SampledCandidates(4), seed=0
        )


def test_sampled_ties_are_pessimistic() -> None:
    train, test, _ = _data()
    constant = torch.zeros(N_USERS, N_ITEMS)
    res = evaluate_ranking(
        _table_scorer(constant),
        test,
        train,
        N_ITEMS,
        ks=(10,),
        candidates=SampledCandidates(10),
        seed=0,
    )
    assert res.means["hr@10"] == 0.0


def test_sampled_needs_seed_and_valid_config() -> None:
    train, test, scores = _data()
    with pytest.raises(ValueError, match="seed"):
        evaluate_ranking(
            _table_scorer(scores), test, train, N_ITEMS, candidates=SampledCandidates(5)
        )
    with pytest.raises(ValueError, match="popularity array"):
        SampledCandidates(5, "popularity")
    with pytest.raises(ValueError, match="only used"):
        SampledCandidates(5, "uniform", popularity=np.ones(3))
    with pytest.raises(ValueError, match="candidates must be"):
        evaluate_ranking(_table_scorer(scores), test, train, N_ITEMS, candidates="sampled")


def test_sample_negatives_respects_forbidden_items_and_popularity() -> None:
    rng = np.random.default_rng(0)
    forbidden_dense = rng.random((200, 30)) < 0.5
    forbidden_dense[0] = np.arange(30) < 25  # exactly 5 admissible items: all must be drawn
    forbidden = sp.csr_matrix(forbidden_dense.astype(np.float32))
    for max_rounds in (6, 0):  # 0 forces the dense fallback
        neg = sample_negatives(forbidden, 5, np.random.default_rng(1), max_rounds=max_rounds)
        assert neg.shape == (200, 5)
        assert not forbidden_dense[np.arange(200)[:, None], neg].any()
        assert all(len(set(row)) == 5 for row in neg.tolist())
        assert sorted(neg[0].tolist()) == [25, 26, 27, 28, 29]
    # popularity: items drawn in proportion to weight, zero-weight items never
    pop = np.array([0.0, 1.0, 3.0, 6.0])
    empty = sp.csr_matrix((20000, 4), dtype=np.float32)
    for max_rounds in (6, 0):
        neg = sample_negatives(
            empty, 1, np.random.default_rng(2), pop / pop.sum(), max_rounds=max_rounds
        )
        freq = np.bincount(neg.ravel(), minlength=4) / 20000
        np.testing.assert_allclose(freq, pop / pop.sum(), atol=0.02)
    cand = SampledCandidates(2, "popularity", popularity=pop)
    assert cand.label == "sampled-2-popularity"


def test_nan_scores_raise_naming_the_user_count() -> None:
    train, test, scores = _data()
    bad = scores.clone()
    bad[[2, 5, 9]] = float("nan")
    with pytest.raises(ValueError, match="NaN scores for 3 of 38 users"):
        evaluate_ranking(_table_scorer(bad), test, train, N_ITEMS)
    with pytest.raises(ValueError, match="NaN scores for 3 of 38 users"):
        evaluate_ranking(
            _table_scorer(bad), test, train, N_ITEMS, candidates=SampledCandidates(5), seed=0
        )


def test_truth_items_in_exclude_are_counted() -> None:
    train, test, scores = _data()
    overlap = sp.csr_matrix(((train + test) > 0).astype(np.float32))
    res = evaluate_ranking(_table_scorer(scores), test, overlap, N_ITEMS)
    assert res.protocol["n_truth_items_excluded"] == test.nnz
    assert res.means["hr@20"] == 0.0


def test_evaluate_rating() -> None:
    users = np.array([0, 1, 2, 0, 1])
    items = np.array([0, 1, 2, 3, 4])
    ratings = np.array([4.0, 3.0, 5.0, 1.0, 2.0])
    table = torch.tensor([[4.5, 0, 0, 7.0, 0], [0, 3.0, 0, 0, 1.0], [0, 0, 5.0, 0, 0]])

    def predict(u: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        return table[u, i]

    for bs in (1, 2, 100):
        res = evaluate_rating(predict, users, items, ratings, batch_size=bs)
        np.testing.assert_allclose(res["squared_errors"], [0.25, 0.0, 0.0, 36.0, 1.0])
        assert res["rmse"] == pytest.approx(np.sqrt(37.25 / 5))  # 7.0 is not clipped to 5
        assert res["mae"] == pytest.approx(7.5 / 5)
        assert res["n"] == 5

    def nan_predict(u: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        out = table[u, i].clone()
        out[0] = float("nan")
        return out

    with pytest.raises(ValueError, match="NaN or infinite values for 3 pairs"):
        evaluate_rating(nan_predict, users, items, ratings, batch_size=2)
    with pytest.raises(ValueError, match="equal length"):
        evaluate_rating(predict, users[:3], items, ratings)
