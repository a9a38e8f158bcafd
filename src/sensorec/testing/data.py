"""Tiny data sets with known answers, for tests of models and protocols."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sensorec.data.dataset import Dataset, build_dataset


def block_dataset(
    n_blocks: int = 4,
    users_per_block: int = 12,
    items_per_block: int = 10,
    density: float = 0.7,
    seed: int = 0,
) -> Dataset:
    """Users of block ``b`` interact only with items of block ``b`` (a block-diagonal matrix).

    A model that learns collaborative structure ranks a user's unseen in-block items above
    every out-of-block item. Timestamps increase in a random order within each user.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for b in range(n_blocks):
        for u in range(users_per_block):
            uid = b * users_per_block + u
            items = np.flatnonzero(rng.random(items_per_block) < density)
            if len(items) < 4:
                items = np.arange(4)
            items = rng.permutation(items) + b * items_per_block
            for t, it in enumerate(items):
                rows.append((uid, int(it), float(rng.integers(3, 6)), 1000 * uid + t))
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    return build_dataset(
        "blocks",
        frame,
        user_ids=range(n_blocks * users_per_block),
        item_ids=range(n_blocks * items_per_block),
    )
