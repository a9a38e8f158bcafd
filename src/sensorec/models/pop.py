"""Popularity: score every item by its number of training interactions."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from sensorec.data.dataset import Dataset
from sensorec.models.base import MODELS, ModelConfig, Recommender


class PopConfig(ModelConfig):
    """Popularity has no hyperparameters."""


@MODELS.register("pop")
class Pop(Recommender):
    """Non-personalised baseline: ``score(u, i) = count(i in train)``.

    Ties (items with equal counts) are left to ``torch.topk``.
    """

    name = "pop"
    config_class = PopConfig
    trainable = False

    def prepare(
        self, train: Dataset, *, seed: int, device: torch.device, batch_size: int = 2048
    ) -> None:
        super().prepare(train, seed=seed, device=device, batch_size=batch_size)
        counts = np.bincount(train.item_index, minlength=self.n_items).astype(np.float32)
        self.counts = torch.from_numpy(counts).to(device)

    def score(self, users: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
        row = self.counts if items is None else self.counts[items]
        return row.unsqueeze(0).expand(len(users), -1)  # [B, C]

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {"counts": self.counts.cpu()}

    def load_state_tensors(self, state: Mapping[str, torch.Tensor]) -> None:
        self.counts = state["counts"].to(self.device)

    def to(self, device: torch.device) -> Recommender:
        super().to(device)
        if hasattr(self, "counts"):
            self.counts = self.counts.to(device)
        return self
