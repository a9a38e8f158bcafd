"""Central top-K ranking: batch scoring, seen-item masking on the device, chunked top-K.

The evaluation package never sees a model, only a *scoring callable*::

    score_fn(users: LongTensor[B], items: LongTensor[C] | None) -> Tensor[B, C]

``items=None`` asks for the scores of all ``n_items`` items (``C = n_items``, column ``i`` is
item ``i``). The callable must not depend on which other users share its batch; then the
results here do not depend on ``batch_size``.

Ties: the order among equal scores is the one :func:`torch.topk` returns, which is
implementation-defined but deterministic for the same device and input. With ``item_chunk``
the running top-K merge can pick a different member of a group of equal scores than the
unchunked call; without ties both agree exactly. A scorer with many ties (a constant one)
can look better or worse than it is under full ranking; break ties in the scorer if needed.

Masking writes -inf into the returned score tensor at the excluded positions and restores the
original values right after the top-K, so a scorer may return storage it keeps (a cache);
broadcast or non-contiguous tensors, and ones that require grad, are copied instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import torch

from sensorec.utils import progress, resolve_device

__all__ = ["ScoreFn", "hits_from_topk", "topk_scores"]

logger = logging.getLogger("sensorec.evaluation")

#: ``score_fn(users [B], items [C] | None) -> scores [B, C]`` (``C = n_items`` for ``None``).
ScoreFn = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]


def _check_users(users: np.ndarray, n_rows: int | None, what: str) -> np.ndarray:
    arr = np.asarray(users)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a 1-D array of user indices, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{what} must hold integer user indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and arr.min() < 0:
        raise ValueError(f"{what} holds a negative user index ({int(arr.min())})")
    if arr.size and n_rows is not None and arr.max() >= n_rows:
        raise ValueError(
            f"{what} holds user index {int(arr.max())} but the matrix has {n_rows} rows"
        )
    return arr


def _check_scores(scores: object, n_rows: int, n_cols: int, device: torch.device) -> torch.Tensor:
    if not isinstance(scores, torch.Tensor):
        raise TypeError(f"score_fn must return a torch.Tensor, got {type(scores).__name__}")
    if tuple(scores.shape) != (n_rows, n_cols):
        raise ValueError(
            f"score_fn returned shape {tuple(scores.shape)}, expected ({n_rows}, {n_cols}) "
            "= (users in the batch, items asked for)"
        )
    if not scores.is_floating_point():
        raise TypeError(f"score_fn must return floating-point scores, got {scores.dtype}")
    scores = scores.detach().to(device)
    if scores.dtype not in (torch.float32, torch.float64):
        scores = scores.float()
    return scores


class _BatchedRows:
    """The rows ``users`` of a CSR matrix, held on the device, sliced per batch.

    The row selection happens once (scipy, compiled) and each entry's batch-local row is
    ``row % batch_size`` (batches start at multiples of ``batch_size``), so the mask of a batch
    is a plain slice of two device arrays: no Python loop per user, no search.
    """

    def __init__(
        self, mat: sp.csr_matrix, users: np.ndarray, batch_size: int, device: torch.device
    ) -> None:
        sub = sp.csr_matrix(mat)[users]  # [U, n_items]
        rows = np.repeat(np.arange(len(users), dtype=np.int64), np.diff(sub.indptr))  # [E]
        cols = sub.indices.astype(np.int64)  # [E]
        self.indptr = sub.indptr.astype(np.int64)  # [U + 1], host copy for slicing
        self.local_rows = torch.as_tensor(rows % batch_size, device=device)  # [E]
        self.cols = torch.as_tensor(cols, device=device)  # [E]
        # position in a row-major [batch_size, n_items] score buffer
        self.flat = torch.as_tensor((rows % batch_size) * sub.shape[1] + cols, device=device)

    def entries(self, start: int, stop: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Batch-local row, column and flat position (row * n_items + column) of every entry
        of output rows ``start:stop``."""
        lo, hi = int(self.indptr[start]), int(self.indptr[stop])
        return self.local_rows[lo:hi], self.cols[lo:hi], self.flat[lo:hi]


def _nan_rows(scores: torch.Tensor) -> torch.Tensor:
    """``[B]`` bool, rows holding a NaN. A row sum is NaN when a row holds a NaN (or both
    infinities); only the rows so flagged are checked element-wise."""
    flagged = torch.isnan(scores.sum(dim=1))  # [B]
    if bool(flagged.any()):
        flagged[flagged.clone()] = torch.isnan(scores[flagged]).any(dim=1)
    return flagged


def _masked_topk(
    scores: torch.Tensor, where: torch.Tensor | None, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.topk(scores, k, dim=1)`` with the entries at flat positions ``where`` ([E],
    ``row * C + column``) of ``scores`` ([B, C]) counted as -inf.

    The masked entries are overwritten in place and restored afterwards, which costs
    ``O(len(rows))`` instead of a ``[B, C]`` copy; ``score_fn`` may hand back storage it keeps
    (a score cache) and finds it unchanged. Tensors that cannot be written safely (broadcast
    views, non-contiguous ones, ones that require grad) are copied first.
    """
    if where is None or where.numel() == 0:
        return torch.topk(scores, k, dim=1)
    if scores.requires_grad or not scores.is_contiguous():
        scores = scores.contiguous().clone()
    flat = scores.view(-1)  # [B * C]
    saved = flat.index_select(0, where)  # [E]
    flat.index_fill_(0, where, float("-inf"))
    try:
        return torch.topk(scores, k, dim=1)
    finally:
        flat.index_copy_(0, where, saved)


def _chunked_topk(
    score_fn: ScoreFn,
    batch: torch.Tensor,
    entries: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None,
    n_items: int,
    item_chunk: int,
    k: int,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Running top-``k`` over item chunks: ``(values [B, k], items [B, k], nan_rows [B])``."""
    b = len(batch)
    nan_rows = torch.zeros(b, dtype=torch.bool, device=device)  # [B]
    top_val = torch.empty(b, 0, device=device)  # [B, 0], grows to [B, k]
    top_idx = torch.empty(b, 0, dtype=torch.int64, device=device)
    for c0 in range(0, n_items, item_chunk):
        c1 = min(c0 + item_chunk, n_items)
        chunk_items = torch.arange(c0, c1, device=device)  # [C]
        scores = _check_scores(score_fn(batch, chunk_items), b, c1 - c0, device)  # [B, C]
        nan_rows |= _nan_rows(scores)
        where = None
        if entries is not None:
            rows, cols, _ = entries
            inside = (cols >= c0) & (cols < c1)
            where = rows[inside] * (c1 - c0) + (cols[inside] - c0)
        c_val, c_idx = _masked_topk(scores, where, min(k, c1 - c0))
        both_val = torch.cat([top_val.to(c_val.dtype), c_val], dim=1)
        both_idx = torch.cat([top_idx, c_idx + c0], dim=1)
        top_val, pick = torch.topk(both_val, min(k, both_val.shape[1]), dim=1)
        top_idx = torch.gather(both_idx, 1, pick)
    return top_val, top_idx, nan_rows


def topk_scores(
    score_fn: ScoreFn,
    users: np.ndarray,
    k: int,
    exclude: sp.csr_matrix | None,
    n_items: int,
    *,
    batch_size: int = 1024,
    item_chunk: int | None = None,
    device: str | torch.device | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` items of each user over all items, with excluded items masked on the device.

    Args:
        score_fn: ``(users [B], items [C] | None) -> [B, C]`` (see the module docstring).
        users: ``[U]`` user indices, in the order of the output rows.
        k: list length (>= 1).
        exclude: ``[n_users, n_items]`` CSR; each stored entry (value ignored) is an item the
            user must not be recommended (e.g. the training interactions). ``None``: nothing.
        n_items: number of items.
        batch_size: users scored at once.
        item_chunk: when set, ``score_fn`` is called per chunk of at most this many items
            and a running top-K is merged on the device, bounding the score buffer to
            ``[batch_size, item_chunk]``. ``None``: one call with ``items=None`` per batch.
        device: where scores, masks and top-K live (``resolve_device`` precedence).

    Returns:
        ``(items [U, k] int64, scores [U, k] float32)``, best first. Where fewer than ``k``
        items remain for a user (excluded items removed) the row is padded with item ``-1``
        and score ``-inf``. An item that ``score_fn`` scores ``-inf`` is treated like an
        excluded one.

    Raises:
        ValueError: when ``score_fn`` returns NaN, naming how many users had NaN scores
            (all users are scanned first).
    """
    k = int(k)
    n_items = int(n_items)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if n_items < 1:
        raise ValueError(f"n_items must be >= 1, got {n_items}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if item_chunk is not None and item_chunk < 1:
        raise ValueError(f"item_chunk must be >= 1 or None, got {item_chunk}")
    dev = resolve_device(device)
    n_rows = None
    if exclude is not None:
        if exclude.shape[1] != n_items:
            raise ValueError(f"exclude has {exclude.shape[1]} columns but n_items={n_items}")
        n_rows = exclude.shape[0]
    users = _check_users(users, n_rows, "users")
    n_users = len(users)

    out_items = np.full((n_users, k), -1, dtype=np.int64)
    out_scores = np.full((n_users, k), -np.inf, dtype=np.float32)
    excl = _BatchedRows(exclude, users, batch_size, dev) if exclude is not None else None
    n_nan_users = 0
    kk = min(k, n_items)  # columns a top-K can fill; the rest stays padding

    starts = range(0, n_users, batch_size)
    with torch.no_grad():
        for start in progress(starts, desc="ranking", total=len(starts)):
            batch = torch.as_tensor(users[start : start + batch_size], device=dev)  # [B]
            b = len(batch)
            entries = excl.entries(start, start + b) if excl is not None else None
            if item_chunk is None:
                scores = _check_scores(score_fn(batch, None), b, n_items, dev)  # [B, I]
                nan_rows = _nan_rows(scores)  # [B]
                flat = entries[2] if entries is not None else None
                top_val, top_idx = _masked_topk(scores, flat, kk)  # [B, kk]
            else:
                top_val, top_idx, nan_rows = _chunked_topk(
                    score_fn, batch, entries, n_items, item_chunk, kk, dev
                )
            n_nan_users += int(nan_rows.sum())
            top_idx = torch.where(torch.isneginf(top_val), torch.full_like(top_idx, -1), top_idx)
            out_items[start : start + b, :kk] = top_idx.cpu().numpy()
            out_scores[start : start + b, :kk] = top_val.to(torch.float32).cpu().numpy()
    if n_nan_users:
        raise ValueError(
            f"score_fn returned NaN scores for {n_nan_users} of {n_users} users; "
            "fix the model (a diverged training run?) before evaluating"
        )
    return out_items, out_scores


def _canonical(mat: sp.spmatrix) -> sp.csr_matrix:
    """CSR copy with sorted column indices and no duplicate entries."""
    out = sp.csr_matrix(mat, copy=True)
    out.sum_duplicates()  # also sorts the indices of each row
    return out


def hits_from_topk(topk_items: np.ndarray, truth: sp.csr_matrix) -> np.ndarray:
    """Which entries of each top-K list are relevant, without a per-user loop.

    Args:
        topk_items: ``[U, K]`` item indices (``-1`` = padding, never a hit).
        truth: ``[U, n_items]`` CSR; row ``u`` holds the truth items of the user of row ``u``
            of ``topk_items`` (select them first, e.g. ``truth[users]``). Every stored entry
            counts as relevant; its value is ignored.

    Returns:
        ``[U, K]`` bool.
    """
    items = np.asarray(topk_items)
    if items.ndim != 2:
        raise ValueError(f"topk_items must be [U, K], got shape {items.shape}")
    if truth.shape[0] != items.shape[0]:
        raise ValueError(
            f"truth has {truth.shape[0]} rows but topk_items has {items.shape[0]} users"
        )
    n_items = int(truth.shape[1])
    items = items.astype(np.int64, copy=False)
    if items.size and items.max() >= n_items:
        raise ValueError(f"topk_items holds item {int(items.max())} >= n_items={n_items}")
    t = _canonical(truth)
    # one sorted key per truth entry: row * n_items + item (rows ascend, items sorted in a row)
    row_of_entry = np.repeat(np.arange(t.shape[0], dtype=np.int64), np.diff(t.indptr))
    keys = row_of_entry * n_items + t.indices.astype(np.int64)  # [nnz]
    query = np.arange(items.shape[0], dtype=np.int64)[:, None] * n_items + items  # [U, K]
    if keys.size == 0:
        return np.zeros(items.shape, dtype=bool)
    pos = np.searchsorted(keys, query)
    found = keys[np.minimum(pos, keys.size - 1)] == query
    return found & (items >= 0)
