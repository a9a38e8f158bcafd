"""A synthetic data set with known structure, deterministic from a seed.

Users have latent tastes and items latent factors (``dim`` of them); a user interacts with
items drawn with probability proportional to ``popularity_i * exp(<taste_u, factor_i> /
temperature)``, so both collaborative structure and popularity are learnable. Ratings
(1-5) grow with the affinity; timestamps increase along each user's history. Items get a
title and genres derived from their dominant factors, users a gender and an age, so that
subgroup analyses have something to group by. The latent factors are returned in
``Dataset.meta["latent"]`` (used to generate item media that reflect them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sensorec.config import Config
from sensorec.data.dataset import Dataset, build_dataset

GENRES = ("Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi", "Animation", "Documentary")


class SyntheticConfig(Config):
    n_users: int = 600
    n_items: int = 400
    dim: int = 8
    min_history: int = 10
    mean_history: int = 40
    temperature: float = 0.5
    popularity_skew: float = 1.0  # Zipf exponent of item popularity
    seed: int = 0


def make_synthetic(config: SyntheticConfig | None = None, **overrides: Any) -> Dataset:
    """Generate the synthetic data set (``name="synthetic"``)."""
    cfg = (
        (config or SyntheticConfig()).with_overrides(overrides)
        if overrides
        else (config or SyntheticConfig())
    )
    rng = np.random.default_rng(cfg.seed)
    tastes = rng.normal(size=(cfg.n_users, cfg.dim)) / np.sqrt(cfg.dim)
    factors = rng.normal(size=(cfg.n_items, cfg.dim))
    factors /= np.linalg.norm(factors, axis=1, keepdims=True)
    pop = 1.0 / np.arange(1, cfg.n_items + 1) ** cfg.popularity_skew
    pop = pop[rng.permutation(cfg.n_items)]
    lengths = np.maximum(
        cfg.min_history,
        rng.poisson(cfg.mean_history - cfg.min_history, cfg.n_users) + cfg.min_history,
    )
    lengths = np.minimum(lengths, cfg.n_items // 2)
    affinity = tastes @ factors.T * np.sqrt(cfg.dim)  # [U, I], roughly unit variance
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for u in range(cfg.n_users):
        logits = np.log(pop) + affinity[u] / cfg.temperature
        p = np.exp(logits - logits.max())
        p /= p.sum()
        items = rng.choice(cfg.n_items, size=lengths[u], replace=False, p=p)
        rows.append(np.full(len(items), u))
        cols.append(items)
    users = np.concatenate(rows)
    items = np.concatenate(cols)
    aff = affinity[users, items]
    ratings = np.clip(np.round(3.0 + 1.2 * aff + rng.normal(0, 0.5, len(aff))), 1, 5)
    start = 880_000_000 + rng.integers(0, 10_000_000, cfg.n_users)
    steps = rng.integers(60, 86_400, len(users))
    cum = np.zeros(len(users), np.int64)
    offset = 0
    for n in lengths:
        cum[offset : offset + n] = np.cumsum(steps[offset : offset + n])
        offset += n
    timestamps = start[users] + cum
    frame = pd.DataFrame(
        {
            "user_id": users + 1,
            "item_id": items + 1,
            "rating": ratings.astype(np.float32),
            "timestamp": timestamps.astype(np.int64),
        }
    )
    top = np.argsort(-factors, axis=1)
    item_table = pd.DataFrame(
        {
            "title": [f"Item {i + 1}" for i in range(cfg.n_items)],
            "year": rng.integers(1950, 2000, cfg.n_items),
            "genres": [
                [GENRES[top[i, 0] % len(GENRES)], GENRES[top[i, 1] % len(GENRES)]]
                for i in range(cfg.n_items)
            ],
        },
        index=pd.Index(np.arange(1, cfg.n_items + 1)),
    )
    user_table = pd.DataFrame(
        {
            "gender": rng.choice(["F", "M"], cfg.n_users),
            "age": rng.choice([18, 25, 35, 45, 56], cfg.n_users),
        },
        index=pd.Index(np.arange(1, cfg.n_users + 1)),
    )
    return build_dataset(
        "synthetic",
        frame,
        user_table=user_table,
        item_table=item_table,
        user_ids=np.arange(1, cfg.n_users + 1).tolist(),
        item_ids=np.arange(1, cfg.n_items + 1).tolist(),
        meta={
            "source": "sensorec.data.synthetic",
            "config": cfg.to_dict(),
            "latent": {"tastes": tastes, "factors": factors, "popularity": pop},
        },
    )
