from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sensorec.cli.main import app

runner = CliRunner()


def test_train_writes_metrics(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        [
            "train",
            "--model",
            "bprmf",
            "--dataset",
            "synthetic",
            "--seed",
            "1",
            "--set",
            "train.epochs=2",
            "--set",
            "data.options={n_users: 80, n_items: 60}",
            "--output",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["seed"] == 1 and m["timing"]["epochs"] == 2
    assert "ndcg@10" in res.output


def test_model_without_content_refuses_features(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        [
            "train",
            "--model",
            "pop",
            "--features",
            f"image={tmp_path}",
            "--output",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code != 0
    assert "takes no content features" in str(res.exception)


def test_data_describe_synthetic() -> None:
    res = runner.invoke(app, ["data", "describe", "synthetic"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["users"] == 600
