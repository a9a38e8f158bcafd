"""Run several models on the same data and split, and tabulate the results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sensorec.experiments.runner import RunResult, run_experiment
from sensorec.experiments.spec import ExperimentSpec

# Hyperparameters that work out of the box, per model (overridable in YAML / CLI).
DEFAULT_MODEL_CONFIGS: dict[str, dict[str, Any]] = {
    "pop": {},
    "bprmf": {"dim": 64, "l2": 1e-4},
    "neumf": {"mf_dim": 32, "mlp_layers": [64, 32, 16], "n_neg": 4},
    "biasedmf": {"dim": 32, "l2": 0.1},
    "vbpr": {"dim": 32, "content_dim": 32},
}
DEFAULT_TRAIN: dict[str, dict[str, Any]] = {
    "bprmf": {"lr": 2e-3, "batch_size": 2048, "epochs": 200, "patience": 20},
    "neumf": {"lr": 1e-3, "batch_size": 4096, "epochs": 100, "patience": 10},
    "vbpr": {"lr": 2e-3, "batch_size": 2048, "epochs": 200, "patience": 20},
    "biasedmf": {"lr": 5e-3, "batch_size": 1024, "epochs": 100, "patience": 5, "monitor": "rmse"},
}


def default_spec(model: str, **fields: Any) -> ExperimentSpec:
    """A spec with the model's default hyperparameters, updated by ``fields``."""
    data: dict[str, Any] = {
        "model": model,
        "model_params": dict(DEFAULT_MODEL_CONFIGS.get(model, {})),
        "train": dict(DEFAULT_TRAIN.get(model, {})),
    }
    for key, value in fields.items():
        if key in ("model_params", "train") and isinstance(value, dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return ExperimentSpec.from_dict(data)


def compare_models(
    models: Sequence[str], output: str | Path | None = None, **fields: Any
) -> list[RunResult]:
    """Run each model with :func:`default_spec` on the same data/split/seed."""
    runs = []
    for name in models:
        spec = default_spec(name, **fields)
        out = Path(output) / name if output is not None else None
        runs.append(run_experiment(spec, out))
    return runs


def results_table(
    runs: Sequence[RunResult], metrics: Sequence[str] = ("ndcg@10", "hr@10", "recall@10", "mrr@10")
) -> tuple[list[str], list[list[str]]]:
    """Header and rows (strings) of a comparison table of test metrics."""
    extra = [m for m in ("rmse", "mae") if any(m in r.metrics["test"] for r in runs)]
    header = ["model", *metrics, *extra, "epochs", "train s"]
    rows = []
    for r in runs:
        test = r.metrics["test"]
        rows.append(
            [
                r.spec.model,
                *(f"{test[m]:.4f}" if m in test else "-" for m in metrics),
                *(f"{test[m]:.4f}" if m in test else "-" for m in extra),
                str(r.metrics["timing"]["epochs"]),
                f"{r.metrics['timing']['train_s']:.1f}",
            ]
        )
    return header, rows
