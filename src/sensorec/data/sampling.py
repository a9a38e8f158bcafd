"""Negative sampling against a user's known positives (vectorised, seeded)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


class NegativeSampler:
    """Uniform negatives that are not among a user's positives.

    Membership is checked with a sorted array of ``user * n_items + item`` keys and
    ``np.searchsorted``; colliding draws are redrawn until none remain (a user who has rated
    every item raises ``ValueError``).
    """

    def __init__(self, positives: sp.csr_matrix) -> None:
        self.n_users, self.n_items = positives.shape
        coo = positives.tocoo()
        self._keys = np.unique(coo.row.astype(np.int64) * self.n_items + coo.col.astype(np.int64))
        counts = np.diff(positives.indptr)
        full = np.flatnonzero(counts >= self.n_items)
        self._full_users = set(full.tolist())

    def is_positive(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        keys = users.astype(np.int64) * self.n_items + items.astype(np.int64)
        pos = np.searchsorted(self._keys, keys)
        pos = np.minimum(pos, len(self._keys) - 1)
        return self._keys[pos] == keys if len(self._keys) else np.zeros(len(keys), bool)

    def sample(self, users: np.ndarray, rng: np.random.Generator, n: int = 1) -> np.ndarray:
        """Negatives for each user: int64 ``[len(users), n]``."""
        users = np.asarray(users, dtype=np.int64)
        if self._full_users and any(u in self._full_users for u in np.unique(users).tolist()):
            raise ValueError("a user has interacted with every item: no negative to sample")
        rep = np.repeat(users, n)
        items = rng.integers(0, self.n_items, size=len(rep))
        bad = np.flatnonzero(self.is_positive(rep, items))
        while len(bad):
            items[bad] = rng.integers(0, self.n_items, size=len(bad))
            bad = bad[self.is_positive(rep[bad], items[bad])]
        return items.reshape(len(users), n)
