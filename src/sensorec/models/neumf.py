"""NeuMF (He et al., "Neural Collaborative Filtering", WWW 2017).

Two branches over separate embeddings: GMF (element-wise product of user and item
embeddings of size ``mf_dim``) and an MLP over the concatenated user and item embeddings
(``mlp_layers[0] / 2`` each) with ReLU tower ``mlp_layers``. The last GMF vector and the last
MLP layer are concatenated and mapped to one logit. Trained with binary cross-entropy on
each observed (user, item) pair and ``n_neg`` uniformly sampled unobserved items
(the paper's pointwise log loss); with ``task="rating"`` the output is a rating and the
loss is MSE.

``variant`` selects the full model (``neumf``) or one branch alone (``gmf`` / ``mlp``) for
the paper's pre-training: :meth:`NeuMF.init_from_pretrained` copies both branches in and
weighs the two halves of the output layer by ``alpha`` (0.5 in the paper).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import field_validator
from torch import nn

from sensorec.data.dataset import Dataset
from sensorec.data.sampling import NegativeSampler
from sensorec.models.base import MODELS, ModelConfig, TorchRecommender


class NeuMFConfig(ModelConfig):
    variant: Literal["neumf", "gmf", "mlp"] = "neumf"
    mf_dim: int = 32
    mlp_layers: tuple[int, ...] = (64, 32, 16)
    dropout: float = 0.0
    n_neg: int = 4
    init_std: float = 0.01

    @field_validator("mlp_layers")
    @classmethod
    def _even_first(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or v[0] % 2:
            raise ValueError("mlp_layers must be non-empty with an even first size")
        return v


class NeuMFModule(nn.Module):
    """``forward(users [B], items [B]) -> logits [B]``."""

    def __init__(
        self, n_users: int, n_items: int, cfg: NeuMFConfig, generator: torch.Generator
    ) -> None:
        super().__init__()
        self.variant = cfg.variant
        half = cfg.mlp_layers[0] // 2
        out_dim = 0
        if cfg.variant in ("neumf", "gmf"):
            self.gmf_user = nn.Embedding(n_users, cfg.mf_dim)
            self.gmf_item = nn.Embedding(n_items, cfg.mf_dim)
            out_dim += cfg.mf_dim
        if cfg.variant in ("neumf", "mlp"):
            self.mlp_user = nn.Embedding(n_users, half)
            self.mlp_item = nn.Embedding(n_items, half)
            layers: list[nn.Module] = []
            for d_in, d_out in zip(cfg.mlp_layers[:-1], cfg.mlp_layers[1:], strict=False):
                layers += [nn.Dropout(cfg.dropout), nn.Linear(d_in, d_out), nn.ReLU()]
            self.mlp = nn.Sequential(*layers)
            out_dim += cfg.mlp_layers[-1]
        self.out = nn.Linear(out_dim, 1)
        with torch.no_grad():
            for mod in self.modules():
                if isinstance(mod, nn.Embedding):
                    mod.weight.copy_(
                        torch.randn(mod.weight.shape, generator=generator) * cfg.init_std
                    )
                elif isinstance(mod, nn.Linear):
                    bound = (6.0 / (mod.in_features + mod.out_features)) ** 0.5  # Xavier uniform
                    mod.weight.copy_(
                        (torch.rand(mod.weight.shape, generator=generator) * 2 - 1) * bound
                    )
                    mod.bias.zero_()

    def hidden(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        parts = []
        if self.variant in ("neumf", "gmf"):
            parts.append(self.gmf_user(users) * self.gmf_item(items))
        if self.variant in ("neumf", "mlp"):
            parts.append(self.mlp(torch.cat([self.mlp_user(users), self.mlp_item(items)], -1)))
        return torch.cat(parts, -1)  # [B, out_dim]

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.out(self.hidden(users, items))[:, 0]  # [B]

    def score_all(
        self, users: torch.Tensor, items: torch.Tensor, user_chunk: int = 128
    ) -> torch.Tensor:
        """Logits for every (user, item) pair, ``[B, C]``, equal to ``forward`` on the pairs.

        Cheaper than ``forward`` on ``B * C`` pairs: the GMF branch is a weighted matrix
        product, and the first MLP layer ``W [u; i] + b`` is split into a user part and an
        item part that are computed once and broadcast. Dropout is not applied (inference).
        """
        w = self.out.weight[0]  # [out_dim]
        off = 0
        gmf_i = mlp_i = None
        if self.variant in ("neumf", "gmf"):
            gmf_i = self.gmf_item(items)  # [C, mf]
            off = gmf_i.shape[1]
        if self.variant in ("neumf", "mlp"):
            mlp_i = self.mlp_item(items)  # [C, half]
            linears = [m for m in self.mlp if isinstance(m, nn.Linear)]
            if linears:
                half = mlp_i.shape[1]
                first = linears[0]
                item_h = mlp_i @ first.weight[:, half:].T  # [C, h1]
                rest = self.mlp[3:]  # after (Dropout, Linear, ReLU) of the first layer
        out = []
        for start in range(0, len(users), user_chunk):
            u = users[start : start + user_chunk]
            total = self.out.bias.expand(len(u), len(items)).clone()  # [b, C]
            if gmf_i is not None:
                total += (self.gmf_user(u) * w[:off]) @ gmf_i.T
            if mlp_i is not None:
                mlp_u = self.mlp_user(u)  # [b, half]
                if linears:
                    user_h = mlp_u @ first.weight[:, :half].T + first.bias  # [b, h1]
                    h = torch.relu(user_h[:, None, :] + item_h[None, :, :])  # [b, C, h1]
                    total += rest(h) @ w[off:]
                else:  # no hidden layer: the MLP output is the concatenation itself
                    half = mlp_u.shape[1]
                    total += (mlp_u @ w[off : off + half])[:, None] + (mlp_i @ w[off + half :])[
                        None, :
                    ]
            out.append(total)
        return torch.cat(out)  # [B, C]


@MODELS.register("neumf")
class NeuMF(TorchRecommender):
    name = "neumf"
    config_class = NeuMFConfig
    config: NeuMFConfig
    module: NeuMFModule
    tasks = ("ranking", "rating")

    def build_module(self, generator: torch.Generator) -> nn.Module:
        return NeuMFModule(self.n_users, self.n_items, self.config, generator)

    def prepare(
        self, train: Dataset, *, seed: int, device: torch.device, batch_size: int = 2048
    ) -> None:
        super().prepare(train, seed=seed, device=device, batch_size=batch_size)
        self._u = train.user_index
        self._i = train.item_index
        if self.task == "rating":
            if not train.has_ratings:
                raise ValueError("neumf with task=rating needs explicit ratings")
            self._r = train.ratings
        else:
            self._sampler = NegativeSampler(train.csr())

    def n_batches(self) -> int | None:
        per = 1 if self.task == "rating" else 1 + self.config.n_neg
        return -(-len(self._u) * per // self.batch_size)

    def batches(self, epoch: int, rng: np.random.Generator) -> Iterator[tuple[torch.Tensor, ...]]:
        if self.task == "rating":
            users, items, labels = self._u, self._i, self._r
        else:
            k = self.config.n_neg
            negs = self._sampler.sample(self._u, rng, k).reshape(-1)
            users = np.concatenate([self._u, np.repeat(self._u, k)])
            items = np.concatenate([self._i, negs])
            labels = np.concatenate(
                [np.ones(len(self._u), np.float32), np.zeros(len(negs), np.float32)]
            )
        order = rng.permutation(len(users))
        u_t = torch.from_numpy(users[order]).to(self.device)
        i_t = torch.from_numpy(items[order]).to(self.device)
        y_t = torch.from_numpy(labels[order].astype(np.float32)).to(self.device)
        for start in range(0, len(order), self.batch_size):
            sl = slice(start, start + self.batch_size)
            yield u_t[sl], i_t[sl], y_t[sl]

    def loss(self, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        u, i, y = batch
        out = self.module(u, i)
        if self.task == "rating":
            return F.mse_loss(out, y)
        return F.binary_cross_entropy_with_logits(out, y)

    def predict(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.module(users.to(self.device), items.to(self.device))

    def score(self, users: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
        users = users.to(self.device)
        items = (
            torch.arange(self.n_items, device=self.device)
            if items is None
            else items.to(self.device)
        )
        return self.module.score_all(users, items)  # [B, C]

    def init_from_pretrained(self, gmf: NeuMF, mlp: NeuMF, alpha: float = 0.5) -> None:
        """Copy the branches of pre-trained ``gmf`` and ``mlp`` variants into this NeuMF."""
        if (
            self.config.variant != "neumf"
            or gmf.config.variant != "gmf"
            or mlp.config.variant != "mlp"
        ):
            raise ValueError("init_from_pretrained needs a neumf model, a gmf and an mlp variant")
        m, g, p = self.module, gmf.module, mlp.module
        with torch.no_grad():
            m.gmf_user.weight.copy_(g.gmf_user.weight)
            m.gmf_item.weight.copy_(g.gmf_item.weight)
            m.mlp_user.weight.copy_(p.mlp_user.weight)
            m.mlp_item.weight.copy_(p.mlp_item.weight)
            m.mlp.load_state_dict(p.mlp.state_dict())
            m.out.weight.copy_(torch.cat([alpha * g.out.weight, (1 - alpha) * p.out.weight], 1))
            m.out.bias.copy_(alpha * g.out.bias + (1 - alpha) * p.out.bias)
