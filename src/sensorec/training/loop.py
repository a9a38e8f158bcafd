"""The one training loop: epochs, validation-based early stopping, NaN -> error.

Every trainable model goes through :func:`fit`; models only provide batches and a loss
(:class:`sensorec.models.base.TorchRecommender`). Validation is a callable supplied by the
runner, so the loop never sees a test split.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from sensorec.config import Config
from sensorec.utils import progress

log = logging.getLogger("sensorec.training")


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite."""


class TrainConfig(Config):
    """Optimisation and early-stopping settings shared by all trainable models."""

    epochs: int = 100
    batch_size: int = 2048
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: Literal["adam", "adamw", "sgd", "adagrad"] = "adam"
    grad_clip: float | None = None
    # Early stopping on the validation metric `monitor` (ranking metrics are maximised,
    # "rmse"/"mae" minimised). Validation runs every `eval_every` epochs; training stops
    # after `patience` validations without improvement, never before `min_epochs`.
    monitor: str = "ndcg@10"
    eval_every: int = 1
    patience: int = 10
    min_epochs: int = 0
    restore_best: bool = True
    amp: bool = False  # mixed precision (bf16 autocast) on CUDA only


MINIMISED = ("rmse", "mae", "loss")


@dataclass
class TrainingHistory:
    epochs: int = 0
    best_epoch: int = 0
    best_value: float | None = None
    monitor: str = ""
    losses: list[float] = field(default_factory=list)
    valid: list[dict[str, float]] = field(default_factory=list)
    train_s: float = 0.0
    valid_s: float = 0.0
    stopped_early: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs,
            "best_epoch": self.best_epoch,
            "best_value": self.best_value,
            "monitor": self.monitor,
            "losses": self.losses,
            "valid": self.valid,
            "train_s": self.train_s,
            "valid_s": self.valid_s,
            "stopped_early": self.stopped_early,
            "s_per_epoch": self.train_s / max(1, self.epochs),
        }


def make_optimizer(params: Any, config: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer of ``config``; Adam/AdamW use the fused kernel (CPU and CUDA)."""
    lr, wd = config.lr, config.weight_decay
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd, fused=True)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd, fused=True)
    if config.optimizer == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, weight_decay=wd)
    return torch.optim.SGD(params, lr=lr, weight_decay=wd)


def _better(value: float, best: float | None, minimise: bool) -> bool:
    if best is None:
        return True
    return value < best if minimise else value > best


def fit(
    model: Any,
    config: TrainConfig,
    *,
    seed: int,
    validate: Callable[[], dict[str, float]] | None = None,
    on_epoch_end: Callable[[int, TrainingHistory], None] | None = None,
    show_progress: bool | None = None,
) -> TrainingHistory:
    """Train ``model`` (a prepared :class:`TorchRecommender`) with early stopping.

    Args:
        model: provides ``module``, ``batches(epoch, rng)``, ``loss(batch)``, ``n_batches()``.
        config: optimisation settings.
        seed: seeds the batch order / negative sampling generator of every epoch.
        validate: returns validation metrics (must contain ``config.monitor``); when None,
            training runs all epochs.
        on_epoch_end: hook called after each epoch (e.g. a curriculum schedule).
    Raises:
        TrainingDivergedError: the loss became NaN/inf (naming epoch and batch).
    """
    history = TrainingHistory(monitor=config.monitor)
    minimise = config.monitor.split("@")[0] in MINIMISED
    optimizer = make_optimizer(model.parameters(), config)
    rng = np.random.default_rng(seed)
    best_state: dict[str, Any] | None = None
    bad_rounds = 0
    device = model.device
    use_amp = config.amp and device.type == "cuda"
    for epoch in range(1, config.epochs + 1):
        model.module.train()
        t0 = time.perf_counter()
        total, count = 0.0, 0
        batches = progress(
            model.batches(epoch, rng),
            desc=f"epoch {epoch}",
            total=model.n_batches(),
            enabled=show_progress,
        )
        for b, batch in enumerate(batches):
            ctx = torch.autocast("cuda", dtype=torch.bfloat16) if use_amp else nullcontext()
            with ctx:
                loss = model.loss(batch)
            if not torch.isfinite(loss):
                raise TrainingDivergedError(
                    f"loss is {loss.item()} at epoch {epoch}, batch {b}: training stopped "
                    "(lower the learning rate, check the input features for NaN/inf)"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            total += float(loss.detach())
            count += 1
        history.train_s += time.perf_counter() - t0
        history.epochs = epoch
        history.losses.append(total / max(1, count))
        if on_epoch_end is not None:
            on_epoch_end(epoch, history)
        if validate is None or epoch % config.eval_every:
            continue
        t1 = time.perf_counter()
        model.eval_mode()
        with torch.no_grad():
            metrics = validate()
        history.valid_s += time.perf_counter() - t1
        if config.monitor not in metrics:
            raise KeyError(f"validation metrics lack monitor {config.monitor!r}: {sorted(metrics)}")
        value = float(metrics[config.monitor])
        if math.isnan(value):
            raise TrainingDivergedError(f"validation {config.monitor} is NaN at epoch {epoch}")
        history.valid.append({"epoch": epoch, **{k: float(v) for k, v in metrics.items()}})
        log.info(
            "epoch %d loss %.4f valid %s %.4f", epoch, history.losses[-1], config.monitor, value
        )
        if _better(value, history.best_value, minimise):
            history.best_value = value
            history.best_epoch = epoch
            bad_rounds = 0
            if config.restore_best:
                best_state = copy.deepcopy(model.module.state_dict())
        else:
            bad_rounds += 1
            if bad_rounds >= config.patience and epoch >= config.min_epochs:
                history.stopped_early = True
                break
    if best_state is not None:
        model.module.load_state_dict(best_state)
    if validate is None:
        history.best_epoch = history.epochs
    model.eval_mode()
    return history
