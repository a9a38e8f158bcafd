"""Central top-K: masking, padding, chunking, batching, NaN, and the vectorised hit lookup."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sensorec.evaluation import hits_from_topk, topk_scores


def _random_setup(seed: int = 0, n_users: int = 37, n_items: int = 53, density: float = 0.3):
    rng = np.random.default_rng(seed)
    scores = torch.from_numpy(rng.standard_normal((n_users, n_items)))  # no ties (float64)
    mask = rng.random((n_users, n_items)) < density
    exclude = sp.csr_matrix(mask.astype(np.float32))
    return scores, exclude, mask


def _table_scorer(scores: torch.Tensor):
    def score_fn(users: torch.Tensor, items: torch.Tensor | None) -> torch.Tensor:
        rows = scores[users]
        return rows if items is None else rows[:, items]

    return score_fn


def _brute_force(scores: np.ndarray, mask: np.ndarray, users: np.ndarray, k: int) -> np.ndarray:
    out = np.full((len(users), k), -1, dtype=np.int64)
    for row, u in enumerate(users):
        allowed = np.flatnonzero(~mask[u])
        order = allowed[np.argsort(-scores[u, allowed], kind="stable")][:k]
        out[row, : len(order)] = order
    return out


def test_topk_matches_brute_force_and_never_returns_masked_items() -> None:
    scores, exclude, mask = _random_setup()
    users = np.array([5, 0, 36, 5, 12], dtype=np.int64)  # any order, repeats allowed here
    items, vals = topk_scores(_table_scorer(scores), users, 10, exclude, 53, batch_size=2)
    assert items.shape == (5, 10) and items.dtype == np.int64 and vals.dtype == np.float32
    np.testing.assert_array_equal(items, _brute_force(scores.numpy(), mask, users, 10))
    np.testing.assert_allclose(
        vals, np.take_along_axis(scores.numpy()[users], items, axis=1), rtol=1e-6
    )
    assert not mask[users[:, None], items].any()
    assert (np.diff(vals, axis=1) <= 0).all()


def test_masked_top_item_is_skipped() -> None:
    scores = torch.tensor([[0.1, 0.9, 0.5, 0.3]])
    exclude = sp.csr_matrix(np.array([[0, 1, 0, 0]]))
    items, _ = topk_scores(_table_scorer(scores), np.array([0]), 2, exclude, 4)
    assert items.tolist() == [[2, 3]]


def test_rows_with_fewer_than_k_items_are_padded() -> None:
    scores = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    exclude = sp.csr_matrix(np.array([[1, 1, 1, 0], [0, 0, 0, 0], [1, 1, 1, 1]]))
    for chunk in (None, 3):
        items, vals = topk_scores(
            _table_scorer(scores), np.arange(3), 6, exclude, 4, item_chunk=chunk
        )
        assert items.tolist() == [
            [3, -1, -1, -1, -1, -1],
            [3, 2, 1, 0, -1, -1],
            [-1, -1, -1, -1, -1, -1],
        ]
        assert np.isneginf(vals[items == -1]).all()
        assert np.isfinite(vals[items >= 0]).all()


@pytest.mark.parametrize("chunk", [1, 7, 20, 52, 53, 1000])
def test_chunked_equals_unchunked(chunk: int) -> None:
    scores, exclude, _ = _random_setup(seed=3)
    users = np.arange(37)
    full = topk_scores(_table_scorer(scores), users, 15, exclude, 53)
    chunked = topk_scores(_table_scorer(scores), users, 15, exclude, 53, item_chunk=chunk)
    np.testing.assert_array_equal(full[0], chunked[0])
    np.testing.assert_array_equal(full[1], chunked[1])


def test_chunked_scorer_sees_only_chunks() -> None:
    seen_shapes = []
    scores, exclude, _ = _random_setup(seed=4)

    def score_fn(users: torch.Tensor, items: torch.Tensor | None) -> torch.Tensor:
        assert items is not None
        seen_shapes.append((len(users), len(items)))
        return scores[users][:, items]

    topk_scores(score_fn, np.arange(37), 5, exclude, 53, batch_size=16, item_chunk=10)
    assert max(b * c for b, c in seen_shapes) <= 16 * 10


@pytest.mark.parametrize("batch_size", [1, 4, 37, 1024])
def test_independent_of_batch_size(batch_size: int) -> None:
    scores, exclude, _ = _random_setup(seed=5)
    ref = topk_scores(_table_scorer(scores), np.arange(37), 8, exclude, 53, batch_size=37)
    got = topk_scores(_table_scorer(scores), np.arange(37), 8, exclude, 53, batch_size=batch_size)
    np.testing.assert_array_equal(ref[0], got[0])
    np.testing.assert_array_equal(ref[1], got[1])


def test_scorer_storage_is_not_modified() -> None:
    scores, exclude, _ = _random_setup(seed=6)
    before = scores.clone()

    def view_scorer(users: torch.Tensor, items: torch.Tensor | None) -> torch.Tensor:
        return scores[int(users[0]) : int(users[-1]) + 1]  # a view of the caller's tensor

    got = topk_scores(view_scorer, np.arange(37), 5, exclude, 53, batch_size=10)
    assert torch.equal(scores, before)
    np.testing.assert_array_equal(
        got[0], topk_scores(_table_scorer(scores), np.arange(37), 5, exclude, 53)[0]
    )


def test_broadcast_scores_are_masked_per_user() -> None:
    # a popularity-like scorer returns one row expanded to the batch (not writable in place)
    pop = torch.tensor([5.0, 4.0, 3.0, 2.0, 1.0])
    exclude = sp.csr_matrix(np.array([[1, 0, 0, 0, 0], [0, 1, 1, 0, 0]]))
    items, _ = topk_scores(lambda u, i: pop.expand(len(u), -1), np.array([0, 1]), 2, exclude, 5)
    assert items.tolist() == [[1, 2], [0, 3]]
    assert pop.tolist() == [5.0, 4.0, 3.0, 2.0, 1.0]


def test_nan_scores_raise_with_user_count() -> None:
    scores, exclude, mask = _random_setup(seed=7)
    scores[3, 0] = float("nan")
    scores[9, :] = float("nan")
    u, i = np.argwhere(mask)[0]  # a NaN on a masked item still counts
    scores[u, i] = float("nan")
    n_bad = len({3, 9, int(u)})
    for chunk in (None, 11):
        with pytest.raises(ValueError, match=f"NaN scores for {n_bad} of 37 users"):
            topk_scores(_table_scorer(scores), np.arange(37), 5, exclude, 53, item_chunk=chunk)


def test_infinities_of_both_signs_are_not_nan() -> None:
    scores = torch.tensor([[float("inf"), float("-inf"), 0.0]])
    items, _ = topk_scores(_table_scorer(scores), np.array([0]), 3, None, 3)
    assert items.tolist() == [[0, 2, -1]]


def test_bad_inputs_have_clear_errors() -> None:
    scores, exclude, _ = _random_setup()
    fn = _table_scorer(scores)
    with pytest.raises(ValueError, match="user index 37"):
        topk_scores(fn, np.array([37]), 5, exclude, 53)
    with pytest.raises(ValueError, match="columns"):
        topk_scores(fn, np.array([0]), 5, exclude, 50)
    with pytest.raises(ValueError, match=r"expected \(2, 53\)"):
        topk_scores(lambda u, i: torch.zeros(2, 3), np.array([0, 1]), 5, None, 53)
    with pytest.raises(TypeError, match="floating"):
        topk_scores(lambda u, i: torch.zeros(1, 53, dtype=torch.long), np.array([0]), 5, None, 53)


def test_hits_from_topk_matches_python_lookup() -> None:
    rng = np.random.default_rng(8)
    n_users, n_items, k = 50, 30, 7
    truth_dense = rng.random((n_users, n_items)) < 0.2
    truth_dense[4] = False  # a user without truth
    truth = sp.csr_matrix(truth_dense.astype(np.float32))
    top = np.stack([rng.permutation(n_items)[:k] for _ in range(n_users)])
    top[::3, -2:] = -1
    hits = hits_from_topk(top, truth)
    want = np.array([[i >= 0 and truth_dense[u, i] for i in row] for u, row in enumerate(top)])
    assert hits.dtype == bool
    np.testing.assert_array_equal(hits, want)
    assert hits.any() and not hits[4].any()


def test_hits_from_topk_handles_unsorted_and_duplicate_csr_entries() -> None:
    # entries given out of order and twice: still one relevant item each
    truth = sp.csr_matrix((np.ones(4), np.array([5, 1, 5, 0]), np.array([0, 3, 4])), shape=(2, 6))
    hits = hits_from_topk(np.array([[1, 5, 0], [0, 1, -1]]), truth)
    assert hits.tolist() == [[True, True, False], [True, False, False]]
