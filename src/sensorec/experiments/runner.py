"""The runner owns the protocol: load, split, train (selecting on validation), test once.

``run_experiment(spec)`` returns a result dictionary shaped like ``metrics.json``; with
``output`` it also writes ``metrics.json``, ``per_user.npz`` (per-user test metric arrays,
for paired significance tests), ``spec.yaml`` and the checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
import yaml

import sensorec
from sensorec.data.dataset import Dataset, Split
from sensorec.experiments.spec import ExperimentSpec, SampledSpec
from sensorec.models import MODELS
from sensorec.models.base import Recommender, TorchRecommender
from sensorec.training.loop import TrainingHistory, fit
from sensorec.utils import resolve_device

log = logging.getLogger("sensorec.experiments")


@dataclass
class RunResult:
    spec: ExperimentSpec
    model: Recommender
    metrics: dict[str, Any]
    per_user: dict[str, np.ndarray] = field(default_factory=dict)
    test_users: np.ndarray | None = None


def prepare_data(spec: ExperimentSpec) -> tuple[Dataset, Split]:
    """Load, filter and split the data set as ``spec`` says."""
    from sensorec.data.filtering import k_core, to_implicit
    from sensorec.data.sources import load_dataset
    from sensorec.data.splitting import make_split

    ds = load_dataset(spec.data.name, spec.data.data_dir, **spec.data.options)
    if spec.data.implicit_threshold is not None:
        ds = to_implicit(ds, spec.data.implicit_threshold)
    if spec.data.user_core or spec.data.item_core:
        ds = k_core(ds, spec.data.user_core, spec.data.item_core)
    split = make_split(ds, spec.split.name, seed=spec.seed, **spec.split.params)
    return ds, split


def check_spec(spec: ExperimentSpec) -> None:
    """Fail before any work when the spec asks for something the model cannot do."""
    MODELS.get(spec.model).check_compatible(spec.task, spec.features)


def load_features(spec: ExperimentSpec, dataset: Dataset) -> dict[str, Any]:
    """Open each feature store and align it to the data set's item vocabulary."""
    if not spec.features:
        return {}
    from sensorec.features.align import align_features
    from sensorec.features.store import FeatureStore

    out = {}
    for modality, path in spec.features.items():
        aligned = align_features(FeatureStore.open(path), dataset.items)
        out[modality] = aligned
    return out


def _csr_union(*mats: sp.csr_matrix) -> sp.csr_matrix:
    total = mats[0].copy()
    for m in mats[1:]:
        total = total + m
    total.data[:] = 1.0
    return total.tocsr()


def evaluate_split_part(
    model: Recommender,
    truth: Dataset,
    exclude: list[Dataset],
    spec: ExperimentSpec,
    *,
    seed: int,
    ks: tuple[int, ...] | None = None,
    metrics: tuple[str, ...] | None = None,
) -> Any:
    """Rank all items (or sampled candidates) for users with truth items in ``truth``."""
    from sensorec.evaluation.protocol import SampledCandidates, evaluate_ranking

    cand: Any = "full"
    if isinstance(spec.eval.candidates, SampledSpec):
        popularity = None
        if spec.eval.candidates.strategy == "popularity":
            popularity = np.bincount(exclude[0].item_index, minlength=model.n_items).astype(
                np.float64
            )
        cand = SampledCandidates(
            n=spec.eval.candidates.n, strategy=spec.eval.candidates.strategy, popularity=popularity
        )
    model.eval_mode()
    with torch.no_grad():
        return evaluate_ranking(
            model.score,
            truth.csr(),
            _csr_union(*(d.csr() for d in exclude)),
            model.n_items,
            ks=ks or spec.eval.ks,
            metrics=metrics or spec.eval.metrics,
            batch_size=spec.eval.batch_size,
            item_chunk=spec.eval.item_chunk,
            device=model.device,
            candidates=cand,
            seed=seed,
        )


def evaluate_ratings(
    model: Recommender, part: Dataset, batch_size: int = 65536
) -> dict[str, float]:
    from sensorec.evaluation.protocol import evaluate_rating

    model.eval_mode()
    with torch.no_grad():
        res = evaluate_rating(
            model.predict, part.user_index, part.item_index, part.ratings, batch_size=batch_size
        )
    return {"rmse": float(res["rmse"]), "mae": float(res["mae"])}


def build_model(
    spec: ExperimentSpec,
    dataset: Dataset,
    features: dict[str, Any] | None = None,
    **config_overrides: Any,
) -> Recommender:
    cls = MODELS.get(spec.model)
    cfg = cls.config_class.from_dict(
        {**spec.model_params, **config_overrides}, source=f"model_params ({spec.model})"
    )
    return cls(cfg, dataset.users, dataset.items, task=spec.task, features=features)


def train_model(
    model: Recommender, split: Split, spec: ExperimentSpec, *, device: torch.device, seed: int
) -> TrainingHistory:
    """Prepare and train ``model`` on ``split.train``, early-stopping on ``split.valid``."""
    model.prepare(split.train, seed=seed, device=device, batch_size=spec.train.batch_size)
    if not model.trainable or not isinstance(model, TorchRecommender):
        return TrainingHistory(monitor=spec.train.monitor)
    has_valid = split.valid.n_interactions > 0
    validate = _validator(model, split, spec, seed) if has_valid else None
    return fit(model, spec.train, seed=seed, validate=validate)


def _pretrain_neumf(
    model: Recommender, dataset: Dataset, split: Split, spec: ExperimentSpec, device: torch.device
) -> dict[str, Any]:
    from sensorec.models.neumf import NeuMF

    assert isinstance(model, NeuMF)
    branches = {}
    info = {}
    for variant in ("gmf", "mlp"):
        sub = build_model(spec, dataset, variant=variant)
        hist = train_model(sub, split, spec, device=device, seed=spec.seed)
        branches[variant] = sub
        info[variant] = {
            "epochs": hist.epochs,
            "best_epoch": hist.best_epoch,
            "best_value": hist.best_value,
        }
    model.prepare(split.train, seed=spec.seed, device=device, batch_size=spec.train.batch_size)
    model.init_from_pretrained(branches["gmf"], branches["mlp"])  # type: ignore[arg-type]
    return info


def _hash_arrays(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def _git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def run_experiment(spec: ExperimentSpec, output: str | Path | None = None) -> RunResult:
    """Run one experiment: select on validation, evaluate the test split exactly once."""
    device = resolve_device(spec.device)
    t_start = time.perf_counter()
    check_spec(spec)
    dataset, split = prepare_data(spec)
    features = load_features(spec, dataset)
    model = build_model(spec, dataset, features)
    pretrain_info = None
    t0 = time.perf_counter()
    if spec.pretrain:
        if spec.model != "neumf":
            raise ValueError("pretrain=true is only defined for neumf (GMF + MLP pre-training)")
        pretrain_info = _pretrain_neumf(model, dataset, split, spec, device)
        history = fit(
            model, spec.train, seed=spec.seed, validate=_validator(model, split, spec, spec.seed)
        )
    else:
        history = train_model(model, split, spec, device=device, seed=spec.seed)
    train_s = time.perf_counter() - t0

    # Validation metrics of the selected model, then the test split, once.
    t1 = time.perf_counter()
    result: dict[str, Any] = {"valid": {}, "test": {}}
    per_user: dict[str, np.ndarray] = {}
    test_users = None
    if spec.task == "rating":
        if split.valid.n_interactions:
            result["valid"].update(evaluate_ratings(model, split.valid))
        result["test"].update(evaluate_ratings(model, split.test))
    if split.valid.n_interactions:
        valid_res = evaluate_split_part(model, split.valid, [split.train], spec, seed=spec.seed)
        result["valid"].update(valid_res.means)
    test_res = evaluate_split_part(
        model, split.test, [split.train, split.valid], spec, seed=spec.seed
    )
    result["test"].update(test_res.means)
    per_user = dict(test_res.per_user)
    test_users = test_res.users
    eval_s = time.perf_counter() - t1

    result["protocol"] = {
        "split": spec.split.name,
        "split_params": dict(spec.split.params),
        **{k: v for k, v in split.protocol.items() if k not in ("name",)},
        "candidates": test_res.protocol.get("candidates", "full"),
        "ranking": test_res.protocol,
        "task": spec.task,
        "test_excludes": ["train", "valid"],
        "model_selection": f"early stopping on valid {spec.train.monitor}"
        if model.trainable
        else "none",
    }
    result["model"] = spec.model
    result["dataset"] = {"name": dataset.name, **_summary(dataset)}
    result["config"] = {
        "experiment": spec.to_dict(),
        "model": model.config.to_dict(),
        "hash": spec.hash(),
    }
    result["seed"] = spec.seed
    result["timing"] = {
        "train_s": train_s,
        "epochs": history.epochs,
        "best_epoch": history.best_epoch,
        "s_per_epoch": history.train_s / max(1, history.epochs),
        "valid_s": history.valid_s,
        "eval_s": eval_s,
        "total_s": time.perf_counter() - t_start,
    }
    result["history"] = history.to_dict()
    if pretrain_info:
        result["pretrain"] = pretrain_info
    result["provenance"] = {
        "sensorec": sensorec.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "git": _git_revision(),
        "device": str(device),
        "data_hash": _hash_arrays(
            dataset.user_index, dataset.item_index, dataset.ratings, dataset.timestamps
        ),
        "split_hash": _hash_arrays(
            split.test.user_index,
            split.test.item_index,
            split.valid.user_index,
            split.valid.item_index,
        ),
        "features": {m: getattr(f, "manifest_hash", None) for m, f in features.items()},
    }
    run = RunResult(
        spec=spec, model=model, metrics=result, per_user=per_user, test_users=test_users
    )
    if output is not None:
        write_run(run, output)
    return run


def _validator(
    model: Recommender, split: Split, spec: ExperimentSpec, seed: int
) -> Callable[[], dict[str, float]]:
    """Validation closure for the training loop: the monitored metric on ``split.valid``."""

    def validate() -> dict[str, float]:
        monitor = spec.train.monitor
        if monitor in ("rmse", "mae"):
            return evaluate_ratings(model, split.valid)
        if "@" not in monitor:
            raise ValueError(f"monitor {monitor!r} must be rmse, mae or METRIC@K (e.g. ndcg@10)")
        name, k = monitor.split("@")
        res = evaluate_split_part(
            model, split.valid, [split.train], spec, seed=seed, ks=(int(k),), metrics=(name,)
        )
        return dict(res.means)

    return validate


def _summary(ds: Dataset) -> dict[str, Any]:
    d = ds.describe()
    return {k: d[k] for k in ("users", "items", "interactions", "density")}


def write_run(run: RunResult, output: str | Path) -> Path:
    from sensorec.training.checkpoint import save_checkpoint

    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(run.metrics, indent=2, default=_json_default))
    (out / "spec.yaml").write_text(yaml.safe_dump(run.spec.to_dict(), sort_keys=False))
    if run.per_user and run.test_users is not None:
        arrays: dict[str, Any] = {"users": run.test_users, **run.per_user}
        np.savez(out / "per_user.npz", **arrays)
    save_checkpoint(run.model, out / "checkpoint", extra={"experiment_hash": run.spec.hash()})
    return out


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj)}")
