"""Models learn a block-structured data set whose right answer is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sensorec.data.splitting import leave_one_out
from sensorec.models import MODELS
from sensorec.testing.data import block_dataset
from sensorec.training.loop import TrainConfig, fit


def _block_auc(model, ds, seen) -> float:
    """Mean over users of P(score of an unseen in-block item > score of an out-of-block item)."""
    items_per_block, users_per_block = 10, 12
    with torch.no_grad():
        scores = model.score(torch.arange(ds.n_users)).numpy()  # [U, I]
    aucs = []
    for u in range(ds.n_users):
        block = np.arange(ds.n_items) // items_per_block == u // users_per_block
        unseen_in = block & ~np.isin(np.arange(ds.n_items), seen[u].indices)
        if not unseen_in.any():
            continue
        pos, neg = scores[u, unseen_in], scores[u, ~block]
        aucs.append(float((pos[:, None] > neg[None, :]).mean()))
    return float(np.mean(aucs))


@pytest.mark.parametrize(
    ("name", "cfg", "train"),
    [
        ("bprmf", {"dim": 16, "l2": 0.0}, {"epochs": 60, "lr": 0.05}),
        (
            "neumf",
            {"mf_dim": 8, "mlp_layers": [16, 8], "init_std": 0.1},
            {"epochs": 30, "lr": 0.01, "weight_decay": 1e-3},
        ),
    ],
)
def test_ranking_models_learn_blocks(name: str, cfg: dict, train: dict) -> None:
    ds = block_dataset()
    split = leave_one_out(ds)
    cls = MODELS.get(name)
    model = cls(cls.config_class.from_dict(cfg), ds.users, ds.items)
    model.prepare(split.train, seed=0, device=torch.device("cpu"), batch_size=128)
    fit(model, TrainConfig(**train), seed=0, show_progress=False)
    seen = split.train.csr()
    assert _block_auc(model, ds, seen) > 0.95
    pop = MODELS.get("pop")(MODELS.get("pop").config_class(), ds.users, ds.items)
    pop.prepare(split.train, seed=0, device=torch.device("cpu"))
    assert _block_auc(pop, ds, seen) < 0.8


def test_biasedmf_fits_ratings_better_than_the_mean() -> None:
    from sensorec.data.synthetic import make_synthetic

    ds = make_synthetic(n_users=150, n_items=100, seed=1)
    from sensorec.data.splitting import random_split

    split = random_split(ds, (0.8, 0.1, 0.1), seed=0)
    cls = MODELS.get("biasedmf")
    model = cls(cls.config_class(dim=8, l2=0.01), ds.users, ds.items, task="rating")
    model.prepare(split.train, seed=0, device=torch.device("cpu"), batch_size=256)
    fit(model, TrainConfig(epochs=40, lr=0.02), seed=0, show_progress=False)
    with torch.no_grad():
        pred = model.predict(
            torch.from_numpy(split.test.user_index), torch.from_numpy(split.test.item_index)
        )
    rmse = float(torch.sqrt(torch.mean((pred - torch.from_numpy(split.test.ratings)) ** 2)))
    baseline = float(np.sqrt(np.mean((split.test.ratings - split.train.ratings.mean()) ** 2)))
    assert rmse < 0.9 * baseline
