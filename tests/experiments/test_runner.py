from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sensorec.experiments import runner
from sensorec.experiments.compare import default_spec
from sensorec.training.checkpoint import load_checkpoint

SMALL = {"name": "synthetic", "options": {"n_users": 120, "n_items": 80, "mean_history": 20}}


def _spec(model: str = "bprmf", **fields):
    return default_spec(model, data=SMALL, train={"epochs": 5, "patience": 3}, **fields)


def test_metrics_json_has_the_documented_shape(tmp_path: Path) -> None:
    runner.run_experiment(_spec(), tmp_path)
    m = json.loads((tmp_path / "metrics.json").read_text())
    for key in ("ndcg@10", "hr@10", "recall@10", "mrr@10"):
        assert 0.0 <= m["test"][key] <= 1.0
        assert key in m["valid"]
    assert m["protocol"]["split"] == "loo"
    assert m["protocol"]["candidates"] == "full"
    assert m["seed"] == 0
    assert m["config"]["model"]["dim"] == 64
    for key in ("train_s", "epochs", "eval_s"):
        assert key in m["timing"]
    per_user = np.load(tmp_path / "per_user.npz")
    assert per_user["ndcg@10"].shape == per_user["users"].shape
    assert np.isclose(per_user["ndcg@10"].mean(), m["test"]["ndcg@10"])
    assert (tmp_path / "checkpoint" / "model.safetensors").exists()
    load_checkpoint(tmp_path / "checkpoint")


def test_same_seed_gives_identical_metrics() -> None:
    a = runner.run_experiment(_spec(seed=3)).metrics
    b = runner.run_experiment(_spec(seed=3)).metrics
    c = runner.run_experiment(_spec(seed=4)).metrics
    assert a["test"] == b["test"] and a["valid"] == b["valid"]
    assert a["test"] != c["test"]


def test_test_split_is_evaluated_once_after_training(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = runner.evaluate_split_part

    def spy(model, truth, exclude, spec, **kw):
        calls.append(len(exclude))  # test is scored with 2 excluded parts (train + valid)
        return original(model, truth, exclude, spec, **kw)

    monkeypatch.setattr(runner, "evaluate_split_part", spy)
    runner.run_experiment(_spec())
    assert calls.count(2) == 1
    assert calls[-1] == 2


def test_rating_task_reports_rmse_and_mae() -> None:
    spec = default_spec(
        "biasedmf",
        data=SMALL,
        split={"name": "random", "params": {"ratios": [0.8, 0.1, 0.1]}},
        task="rating",
        train={"epochs": 5},
    )
    m = runner.run_experiment(spec).metrics
    assert 0.3 < m["test"]["rmse"] < 2.0
    assert m["test"]["mae"] <= m["test"]["rmse"]
    assert "ndcg@10" in m["test"]


def test_sampled_evaluation_is_labelled() -> None:
    spec = _spec("pop", eval={"candidates": {"n": 50, "strategy": "uniform"}})
    m = runner.run_experiment(spec).metrics
    assert m["protocol"]["candidates"] != "full"
    assert "sampled" in str(m["protocol"]["candidates"])


def test_neumf_pretraining_runs_both_branches() -> None:
    spec = default_spec("neumf", data=SMALL, train={"epochs": 2}, pretrain=True)
    m = runner.run_experiment(spec).metrics
    assert set(m["pretrain"]) == {"gmf", "mlp"}


def test_yaml_experiment_with_base_and_overrides(tmp_path: Path) -> None:
    from sensorec.config import ConfigError
    from sensorec.experiments.spec import ExperimentSpec

    (tmp_path / "base.yaml").write_text("data:\n  name: synthetic\ntrain:\n  epochs: 3\n")
    (tmp_path / "exp.yaml").write_text("base: base.yaml\nmodel: pop\nseed: 2\n")
    spec = ExperimentSpec.from_yaml(tmp_path / "exp.yaml", {"train.lr": 0.5})
    assert (
        spec.model == "pop" and spec.train.epochs == 3 and spec.train.lr == 0.5 and spec.seed == 2
    )
    (tmp_path / "bad.yaml").write_text("trian:\n  epochs: 3\n")
    with pytest.raises(ConfigError, match="trian"):
        ExperimentSpec.from_yaml(tmp_path / "bad.yaml")
