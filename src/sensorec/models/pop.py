"""Popularity: rank every item by its number of training interactions."""

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
    """Non-personalised baseline: items ordered by training count.

    The score is the item's place in one total order, ``n_items - rank`` (rank 0 = most
    interactions; equal counts ordered by lower item index), so every score is distinct and
    exactly representable: top-K lists never depend on how ``torch.topk`` breaks ties, and
    metrics at K=10 are the same whether K=20 was also asked for. ``counts`` keeps the raw
    counts.
    """

    name = "pop"
    config_class = PopConfig
    trainable = False

    def prepare(
        self, train: Dataset, *, seed: int, device: torch.device, batch_size: int = 2048
    ) -> None:
        super().prepare(train, seed=seed, device=device, batch_size=batch_size)
        counts = np.bincount(train.item_index, minlength=self.n_items)
        order = np.lexsort((np.arange(self.n_items), -counts))  # count desc, index asc
        ranked = np.empty(self.n_items, dtype=np.float32)
        ranked[order] = np.arange(self.n_items, 0, -1, dtype=np.float32)
        self.counts = torch.from_numpy(counts.astype(np.float32)).to(device)
        self.ranked = torch.from_numpy(ranked).to(device)

    def score(self, users: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
        row = self.ranked if items is None else self.ranked[items]
        return row.unsqueeze(0).expand(len(users), -1)  # [B, C]

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {"counts": self.counts.cpu(), "ranked": self.ranked.cpu()}

    def load_state_tensors(self, state: Mapping[str, torch.Tensor]) -> None:
        self.counts = state["counts"].to(self.device)
        self.ranked = state["ranked"].to(self.device)

    def to(self, device: torch.device) -> Recommender:
        super().to(device)
        if hasattr(self, "counts"):
            self.counts = self.counts.to(device)
            self.ranked = self.ranked.to(device)
        return self
