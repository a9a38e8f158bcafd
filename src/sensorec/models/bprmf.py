"""BPR-MF: matrix factorisation trained with Bayesian Personalised Ranking (Rendle et al. 2009).

``score(u, i) = p_u . q_i``; loss ``-log sigmoid(s(u,i) - s(u,j))`` for an observed item
``i`` and a uniformly sampled unobserved item ``j``, plus L2 on the embeddings of the batch.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sensorec.data.dataset import Dataset
from sensorec.data.sampling import NegativeSampler
from sensorec.models.base import MODELS, ModelConfig, TorchRecommender


class BPRMFConfig(ModelConfig):
    dim: int = 64
    l2: float = 1e-5  # weight of the L2 penalty on the batch's embeddings (per example)
    init_std: float = 0.1


class MFModule(nn.Module):
    """User and item embeddings; ``forward(users [B], items [B]) -> scores [B]``."""

    def __init__(
        self, n_users: int, n_items: int, dim: int, init_std: float, generator: torch.Generator
    ) -> None:
        super().__init__()
        self.user = nn.Embedding(n_users, dim)
        self.item = nn.Embedding(n_items, dim)
        with torch.no_grad():
            self.user.weight.copy_(torch.randn(n_users, dim, generator=generator) * init_std)
            self.item.weight.copy_(torch.randn(n_items, dim, generator=generator) * init_std)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return (self.user(users) * self.item(items)).sum(-1)  # [B]

    def score_all(self, users: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
        item_w = self.item.weight if items is None else self.item(items)
        return self.user(users) @ item_w.T  # [B, C]


class PairwiseBatches:
    """Shuffled (user, positive, negative) triples of one epoch, on the model's device."""

    def __init__(
        self, train: Dataset, batch_size: int, device: torch.device, n_neg: int = 1
    ) -> None:
        self.users = train.user_index
        self.items = train.item_index
        self.sampler = NegativeSampler(train.csr())
        self.batch_size = batch_size
        self.device = device
        self.n_neg = n_neg

    def __len__(self) -> int:
        return -(-len(self.users) // self.batch_size)

    def epoch(self, rng: np.random.Generator) -> Iterator[tuple[torch.Tensor, ...]]:
        order = rng.permutation(len(self.users))
        users = self.users[order]
        items = self.items[order]
        negs = self.sampler.sample(users, rng, self.n_neg)  # [N, n_neg]
        u_t = torch.from_numpy(users).to(self.device)
        i_t = torch.from_numpy(items).to(self.device)
        j_t = torch.from_numpy(negs).to(self.device)
        for start in range(0, len(users), self.batch_size):
            sl = slice(start, start + self.batch_size)
            yield u_t[sl], i_t[sl], j_t[sl]


class PairwiseRecommender(TorchRecommender):
    """Base of models trained with the BPR loss on (user, positive, negative) triples.

    Subclasses implement :meth:`pairwise` returning the score difference ``[B]`` and the
    regularisation term; the module must provide ``score_all(users, items)``.
    """

    def prepare(
        self, train: Dataset, *, seed: int, device: torch.device, batch_size: int = 2048
    ) -> None:
        super().prepare(train, seed=seed, device=device, batch_size=batch_size)
        self._data = PairwiseBatches(train, batch_size, device)

    def n_batches(self) -> int | None:
        return len(self._data)

    def batches(self, epoch: int, rng: np.random.Generator) -> Iterator[tuple[torch.Tensor, ...]]:
        return self._data.epoch(rng)

    def pairwise(
        self, u: torch.Tensor, i: torch.Tensor, j: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(s(u, i) - s(u, j) [B], regularisation scalar)``."""
        raise NotImplementedError

    def loss(self, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        u, i, j = batch
        diff, reg = self.pairwise(u, i, j[:, 0])
        return -F.logsigmoid(diff).mean() + reg

    def score(self, users: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
        return self.module.score_all(  # type: ignore[operator]
            users.to(self.device), None if items is None else items.to(self.device)
        )


@MODELS.register("bprmf")
class BPRMF(PairwiseRecommender):
    name = "bprmf"
    config_class = BPRMFConfig
    config: BPRMFConfig
    module: MFModule

    def build_module(self, generator: torch.Generator) -> nn.Module:
        return MFModule(
            self.n_users, self.n_items, self.config.dim, self.config.init_std, generator
        )

    def pairwise(
        self, u: torch.Tensor, i: torch.Tensor, j: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        m = self.module
        # index_select has a cheaper backward on CPU than nn.Embedding; one lookup for i and j
        pu = m.user.weight.index_select(0, u)  # [B, D]
        qi, qj = m.item.weight.index_select(0, torch.cat([i, j])).chunk(2)  # [B, D] each
        diff = (pu * (qi - qj)).sum(-1)
        reg = (pu.pow(2).sum() + qi.pow(2).sum() + qj.pow(2).sum()) / len(u)
        return diff, self.config.l2 * reg
