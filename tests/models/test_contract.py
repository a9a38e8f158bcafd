"""Contract tests every model passes: batch == single scores, save/load, unknown ids, seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sensorec.data.errors import UnknownIdError
from sensorec.data.splitting import leave_one_out
from sensorec.experiments.compare import DEFAULT_MODEL_CONFIGS
from sensorec.models import MODELS
from sensorec.testing.data import block_dataset
from sensorec.training.checkpoint import load_checkpoint, save_checkpoint
from sensorec.training.loop import TrainConfig, fit

MODEL_NAMES = ["pop", "bprmf", "neumf", "biasedmf", "vbpr"]


def _features(name: str, n_items: int) -> dict | None:
    """Content models get two random modalities; ID models none."""
    if not MODELS.get(name).modalities:
        return None
    rng = np.random.default_rng(0)
    return {"image": rng.normal(size=(n_items, 6)), "text": rng.normal(size=(n_items, 4))}


def _trained(name: str, seed: int = 0, epochs: int = 3):
    ds = block_dataset()
    split = leave_one_out(ds)
    cls = MODELS.get(name)
    model = cls(
        cls.config_class.from_dict(DEFAULT_MODEL_CONFIGS[name]),
        ds.users,
        ds.items,
        features=_features(name, ds.n_items),
    )
    model.prepare(split.train, seed=seed, device=torch.device("cpu"), batch_size=64)
    if model.trainable:
        fit(model, TrainConfig(epochs=epochs, lr=0.01), seed=seed, show_progress=False)
    return model, split


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_batch_scores_equal_single_scores(name: str) -> None:
    model, _ = _trained(name)
    users = torch.arange(model.n_users)
    full = model.score(users)  # [U, I]
    assert full.shape == (model.n_users, model.n_items)
    for u in (0, 7, model.n_users - 1):
        single = model.score(torch.tensor([u]))
        torch.testing.assert_close(single[0], full[u])
    items = torch.tensor([3, 1, 20])
    torch.testing.assert_close(model.score(users[:5], items), full[:5][:, items])


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_save_load_round_trip_gives_identical_scores(name: str, tmp_path: Path) -> None:
    model, _ = _trained(name)
    save_checkpoint(model, tmp_path / "ckpt")
    loaded = load_checkpoint(tmp_path / "ckpt", features=_features(name, model.n_items))
    users = torch.arange(model.n_users)
    torch.testing.assert_close(loaded.score(users), model.score(users), rtol=0, atol=0)
    assert loaded.users == model.users and loaded.items == model.items
    assert (loaded.seen != model.seen).nnz == 0
    assert loaded.recommend([0, 5], k=3) == model.recommend([0, 5], k=3)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_unknown_user_id_raises_naming_it(name: str) -> None:
    model, _ = _trained(name, epochs=1)
    with pytest.raises(UnknownIdError, match="12345"):
        model.recommend([0, 12345], k=5)


@pytest.mark.parametrize("name", ["bprmf", "neumf", "biasedmf", "vbpr"])
def test_same_seed_same_scores_other_seed_differs(name: str) -> None:
    a, _ = _trained(name, seed=3)
    b, _ = _trained(name, seed=3)
    c, _ = _trained(name, seed=4)
    users = torch.arange(a.n_users)
    torch.testing.assert_close(a.score(users), b.score(users), rtol=0, atol=0)
    assert not torch.allclose(a.score(users), c.score(users))


def test_recommend_excludes_seen_items_and_returns_raw_ids() -> None:
    model, split = _trained("bprmf")
    recs = model.recommend([0, 1], k=5)
    seen0 = set(model.items.raw(split.train.csr()[0].indices).tolist())
    assert len(recs[0].items) == 5
    assert not seen0 & set(recs[0].items)
    assert recs[0].scores == sorted(recs[0].scores, reverse=True)


def test_model_without_content_rejects_features() -> None:
    ds = block_dataset()
    cls = MODELS.get("bprmf")
    with pytest.raises(ValueError, match="takes no content features"):
        cls(cls.config_class(), ds.users, ds.items, features={"image": np.zeros((ds.n_items, 4))})


def test_unsupported_task_is_refused() -> None:
    ds = block_dataset()
    with pytest.raises(ValueError, match="supports tasks"):
        MODELS.get("bprmf")(MODELS.get("bprmf").config_class(), ds.users, ds.items, task="rating")


def test_misspelled_config_key_names_the_key() -> None:
    from sensorec.config import ConfigError

    with pytest.raises(ConfigError, match="dimm"):
        MODELS.get("bprmf").config_class.from_dict({"dimm": 3})


def test_vbpr_rejects_nan_features_naming_the_modality() -> None:
    ds = block_dataset()
    feats = np.random.default_rng(0).normal(size=(ds.n_items, 3))
    feats[4, 1] = np.nan
    with pytest.raises(ValueError, match=r"'image'.*NaN"):
        MODELS.get("vbpr")(
            MODELS.get("vbpr").config_class(), ds.users, ds.items, features={"image": feats}
        )


@pytest.mark.parametrize(
    "cfg",
    [
        {"variant": "neumf"},
        {"variant": "gmf"},
        {"variant": "mlp", "mlp_layers": [16, 8, 4]},
        {"variant": "neumf", "mlp_layers": [8]},
    ],
)
def test_neumf_fast_scoring_equals_pairwise_forward(cfg: dict) -> None:
    ds = block_dataset()
    cls = MODELS.get("neumf")
    model = cls(cls.config_class.from_dict({**cfg, "init_std": 0.5}), ds.users, ds.items)
    model.prepare(leave_one_out(ds).train, seed=0, device=torch.device("cpu"))
    model.eval_mode()
    users, items = torch.arange(ds.n_users), torch.arange(ds.n_items)
    with torch.no_grad():
        fast = model.score(users)
        slow = model.module(users.repeat_interleave(len(items)), items.repeat(len(users)))
    torch.testing.assert_close(fast, slow.view(len(users), len(items)), rtol=1e-5, atol=1e-6)


def test_pop_orders_by_count_then_index_so_metrics_do_not_depend_on_k() -> None:
    from sensorec.evaluation import evaluate_ranking

    model, split = _trained("pop")
    counts = np.bincount(split.train.item_index, minlength=model.n_items)
    with torch.no_grad():
        scores = model.score(torch.tensor([0]))[0].numpy()
    assert len(np.unique(scores)) == model.n_items  # no ties left to torch.topk
    order = np.argsort(-scores)
    assert (np.diff(counts[order]) <= 0).all()  # most interactions first
    tied = order[counts[order] == counts[order][5]]
    assert (np.diff(tied) > 0).all()  # equal counts: lower index first
    truth, seen = split.test.csr(), split.train.csr() + split.valid.csr()
    small = evaluate_ranking(model.score, truth, seen, model.n_items, ks=(3,))
    large = evaluate_ranking(model.score, truth, seen, model.n_items, ks=(3, 20))
    assert small.means["ndcg@3"] == large.means["ndcg@3"]
