"""Media -> features -> store -> a content model trained through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sensorec.cli.main import app
from sensorec.content.synthetic import write_synthetic_content
from sensorec.data.synthetic import make_synthetic
from sensorec.features.store import FeatureStore

runner = CliRunner()
OPTIONS = {"n_users": 60, "n_items": 40, "mean_history": 12}


def test_extract_inspect_and_train_with_features(tmp_path: Path) -> None:
    ds = make_synthetic(**OPTIONS)
    content = write_synthetic_content(ds, tmp_path / "content")
    table = tmp_path / "inter.csv"
    frame = ds.interactions.assign(
        user_id=ds.users.raw(ds.user_index), item_id=ds.items.raw(ds.item_index)
    )
    frame[["user_id", "item_id", "rating", "timestamp"]].to_csv(table, index=False)

    for modality in ("image", "audio"):
        res = runner.invoke(
            app,
            [
                "features",
                "extract",
                "--dataset",
                str(table),
                "--modality",
                modality,
                "--encoder",
                "handcrafted",
                "--content",
                str(content),
                "--out",
                str(tmp_path / modality),
            ],
        )
        assert res.exit_code == 0, res.output
    store = FeatureStore.open(tmp_path / "image")
    assert store.n_items == 40 and store.mask.all()

    res = runner.invoke(app, ["features", "inspect", str(tmp_path / "audio")])
    assert res.exit_code == 0, res.output
    assert "handcrafted-audio" in res.output

    out = tmp_path / "run"
    res = runner.invoke(
        app,
        [
            "train",
            "--model",
            "vbpr",
            "--dataset",
            str(table),
            "--features",
            f"image={tmp_path / 'image'}",
            "--features",
            f"audio={tmp_path / 'audio'}",
            "--set",
            "train.epochs=2",
            "--output",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["provenance"]["features"]["image"] == store.manifest_hash
    assert set(metrics["config"]["experiment"]["features"]) == {"image", "audio"}


def test_unknown_modality_for_a_content_model_is_refused(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        [
            "train",
            "--model",
            "vbpr",
            "--features",
            f"smell={tmp_path}",
            "--output",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code != 0
    assert "smell" in str(res.exception)
