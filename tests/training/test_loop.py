from __future__ import annotations

import numpy as np
import pytest
import torch

from sensorec.data.splitting import leave_one_out
from sensorec.models import MODELS
from sensorec.testing.data import block_dataset
from sensorec.training.loop import TrainConfig, TrainingDivergedError, fit


def _model(name: str = "bprmf"):
    ds = block_dataset()
    split = leave_one_out(ds)
    cls = MODELS.get(name)
    model = cls(cls.config_class(), ds.users, ds.items)
    model.prepare(split.train, seed=0, device=torch.device("cpu"), batch_size=64)
    return model


def test_nan_loss_stops_training_with_an_error() -> None:
    model = _model()
    with torch.no_grad():
        model.module.user.weight[0, 0] = float("nan")
    with pytest.raises(TrainingDivergedError, match="epoch 1"):
        fit(model, TrainConfig(epochs=2), seed=0, show_progress=False)


def test_early_stopping_restores_the_best_epoch() -> None:
    model = _model()
    values = iter([0.1, 0.5, 0.3, 0.2, 0.2, 0.1, 0.0, 0.0])
    snapshots = {}

    def validate() -> dict[str, float]:
        return {"ndcg@10": next(values)}

    def remember(epoch, _history) -> None:
        snapshots[epoch] = model.module.user.weight.detach().clone()

    hist = fit(
        model,
        TrainConfig(epochs=8, patience=3),
        seed=0,
        validate=validate,
        on_epoch_end=remember,
        show_progress=False,
    )
    assert hist.best_epoch == 2
    assert hist.epochs == 5 and hist.stopped_early
    torch.testing.assert_close(model.module.user.weight, snapshots[2])


def test_minimised_monitor() -> None:
    model = _model()
    values = iter([1.0, 0.9, 0.95, 0.97])
    hist = fit(
        model,
        TrainConfig(epochs=4, patience=5, monitor="rmse"),
        seed=0,
        validate=lambda: {"rmse": next(values)},
        show_progress=False,
    )
    assert hist.best_epoch == 2
    assert np.isclose(hist.best_value, 0.9)


def test_missing_monitor_is_an_error() -> None:
    model = _model()
    with pytest.raises(KeyError, match="ndcg@10"):
        fit(
            model,
            TrainConfig(epochs=1),
            seed=0,
            validate=lambda: {"hr@10": 0.1},
            show_progress=False,
        )
