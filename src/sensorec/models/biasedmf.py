"""Biased matrix factorisation for rating prediction (Koren et al. 2009).

``r_hat(u, i) = mu + b_u + b_i + p_u . q_i``, trained with MSE on explicit ratings plus L2
on the batch's factors and biases. ``score`` ranks items by predicted rating.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from sensorec.data.dataset import Dataset
from sensorec.models.base import MODELS, ModelConfig, TorchRecommender


class BiasedMFConfig(ModelConfig):
    dim: int = 32
    l2: float = 0.1  # L2 on factors and biases of the batch (per example)
    init_std: float = 0.01


class BiasedMFModule(nn.Module):
    def __init__(
        self, n_users: int, n_items: int, dim: int, init_std: float, generator: torch.Generator
    ) -> None:
        super().__init__()
        self.user = nn.Embedding(n_users, dim)
        self.item = nn.Embedding(n_items, dim)
        self.user_bias = nn.Embedding(n_users, 1)
        self.item_bias = nn.Embedding(n_items, 1)
        self.global_bias = nn.Parameter(torch.zeros(()))
        with torch.no_grad():
            self.user.weight.copy_(torch.randn(n_users, dim, generator=generator) * init_std)
            self.item.weight.copy_(torch.randn(n_items, dim, generator=generator) * init_std)
            self.user_bias.weight.zero_()
            self.item_bias.weight.zero_()

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        dot = (self.user(users) * self.item(items)).sum(-1)
        return (
            self.global_bias + self.user_bias(users)[:, 0] + self.item_bias(items)[:, 0] + dot
        )  # [B]

    def score_all(self, users: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
        item_w = self.item.weight if items is None else self.item(items)
        item_b = self.item_bias.weight[:, 0] if items is None else self.item_bias(items)[:, 0]
        return (
            self.global_bias + self.user_bias(users) + item_b[None, :] + self.user(users) @ item_w.T
        )  # [B, C]


@MODELS.register("biasedmf")
class BiasedMF(TorchRecommender):
    name = "biasedmf"
    config_class = BiasedMFConfig
    config: BiasedMFConfig
    module: BiasedMFModule
    tasks = ("rating", "ranking")

    def build_module(self, generator: torch.Generator) -> nn.Module:
        return BiasedMFModule(
            self.n_users, self.n_items, self.config.dim, self.config.init_std, generator
        )

    def prepare(
        self, train: Dataset, *, seed: int, device: torch.device, batch_size: int = 2048
    ) -> None:
        if not train.has_ratings:
            raise ValueError("biasedmf needs explicit ratings; the training data has none")
        super().prepare(train, seed=seed, device=device, batch_size=batch_size)
        self._u = torch.from_numpy(train.user_index).to(device)
        self._i = torch.from_numpy(train.item_index).to(device)
        self._r = torch.from_numpy(train.ratings).to(device)
        with torch.no_grad():
            self.module.global_bias.fill_(float(self._r.mean()))

    def n_batches(self) -> int | None:
        return -(-len(self._u) // self.batch_size)

    def batches(self, epoch: int, rng: np.random.Generator) -> Iterator[tuple[torch.Tensor, ...]]:
        order = torch.from_numpy(rng.permutation(len(self._u))).to(self.device)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            yield self._u[idx], self._i[idx], self._r[idx]

    def loss(self, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        u, i, r = batch
        m = self.module
        pred = m(u, i)
        reg = (
            m.user(u).pow(2).sum()
            + m.item(i).pow(2).sum()
            + m.user_bias(u).pow(2).sum()
            + m.item_bias(i).pow(2).sum()
        ) / len(u)
        return torch.mean((pred - r) ** 2) + self.config.l2 * reg

    def predict(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.module(users.to(self.device), items.to(self.device))

    def score(self, users: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
        return self.module.score_all(
            users.to(self.device), None if items is None else items.to(self.device)
        )
