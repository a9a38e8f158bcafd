"""VBPR (He & McAuley, "VBPR: Visual Bayesian Personalized Ranking from Implicit Feedback",
AAAI 2016), generalised to any set of content modalities.

Preference predictor (the global and user biases cancel in BPR and are dropped):

    x_ui = beta_i + gamma_u . gamma_i + theta_u . (E f_i) + beta' . f_i

where ``f_i`` is the item's frozen content vector (the concatenation of the modalities
given, each standardised per dimension over the items that have it; items without a
modality get zeros there), ``E`` a learned ``[content_dim, D_f]`` projection and ``beta'`` a
learned content bias vector. Trained with the BPR loss, L2 ``l2`` on the batch's ID factors
and item biases and ``l2_content`` on ``E`` and ``beta'``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from sensorec.models.base import MODELS, ModelConfig
from sensorec.models.bprmf import PairwiseRecommender


class VBPRConfig(ModelConfig):
    dim: int = 32  # ID factors gamma
    content_dim: int = 32  # content factors theta / rows of E
    l2: float = 1e-5
    l2_content: float = 1e-5
    init_std: float = 0.1


def stack_features(features: Mapping[str, Any], n_items: int) -> np.ndarray:
    """Concatenate aligned modality matrices ``[n_items, D_m]`` into ``[n_items, sum D_m]``.

    Each modality is standardised per dimension over the items whose mask is true; items
    without that modality get zeros. Accepts objects with ``features`` and ``mask``
    attributes (``AlignedFeatures``) or plain arrays (all items available).
    """
    blocks = []
    for name in sorted(features):
        value = features[name]
        mat = np.asarray(getattr(value, "features", value), dtype=np.float64)
        mask = np.asarray(getattr(value, "mask", np.ones(len(mat), bool)), dtype=bool)
        if mat.shape[0] != n_items:
            raise ValueError(
                f"features {name!r} have {mat.shape[0]} rows, the vocabulary {n_items} items"
            )
        if not np.isfinite(mat[mask]).all():
            raise ValueError(f"features {name!r} contain NaN/inf for available items")
        out = np.zeros_like(mat)
        if mask.any():
            mu = mat[mask].mean(0)
            sd = mat[mask].std(0)
            out[mask] = (mat[mask] - mu) / np.where(sd > 0, sd, 1.0)
        blocks.append(out)
    return np.concatenate(blocks, axis=1).astype(np.float32)


class VBPRModule(nn.Module):
    """``score_all(users [B], items [C] | None) -> [B, C]``; content is a fixed buffer."""

    def __init__(
        self, n_users: int, content: torch.Tensor, cfg: VBPRConfig, generator: torch.Generator
    ) -> None:
        super().__init__()
        n_items, d_f = content.shape
        self.content: torch.Tensor
        self.register_buffer("content", content)  # [I, D_f]
        self.gamma_u = nn.Parameter(
            torch.randn(n_users, cfg.dim, generator=generator) * cfg.init_std
        )
        self.gamma_i = nn.Parameter(
            torch.randn(n_items, cfg.dim, generator=generator) * cfg.init_std
        )
        self.theta_u = nn.Parameter(
            torch.randn(n_users, cfg.content_dim, generator=generator) * cfg.init_std
        )
        self.E = nn.Parameter(
            torch.randn(d_f, cfg.content_dim, generator=generator) * cfg.init_std / d_f**0.5
        )
        self.beta_i = nn.Parameter(torch.zeros(n_items))
        self.beta_content = nn.Parameter(torch.zeros(d_f))

    def item_parts(self, items: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        f = self.content if items is None else self.content[items]  # [C, D_f]
        gi = self.gamma_i if items is None else self.gamma_i[items]
        bi = self.beta_i if items is None else self.beta_i[items]
        return gi, f @ self.E, bi + f @ self.beta_content  # [C, D], [C, D_c], [C]

    def score_all(self, users: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
        gi, ci, bi = self.item_parts(items)
        return bi[None, :] + self.gamma_u[users] @ gi.T + self.theta_u[users] @ ci.T  # [B, C]

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        gi, ci, bi = self.item_parts(items)
        return bi + (self.gamma_u[users] * gi).sum(-1) + (self.theta_u[users] * ci).sum(-1)  # [B]


@MODELS.register("vbpr")
class VBPR(PairwiseRecommender):
    name = "vbpr"
    config_class = VBPRConfig
    config: VBPRConfig
    module: VBPRModule
    modalities = ("text", "image", "audio", "video")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.features:
            raise ValueError("vbpr needs content features (e.g. --features image=STORE_DIR)")
        self._content = torch.from_numpy(stack_features(self.features, self.n_items))

    def build_module(self, generator: torch.Generator) -> nn.Module:
        return VBPRModule(self.n_users, self._content, self.config, generator)

    def pairwise(
        self, u: torch.Tensor, i: torch.Tensor, j: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        m = self.module
        diff = m(u, i) - m(u, j)
        reg = (
            m.gamma_u[u].pow(2).sum()
            + m.theta_u[u].pow(2).sum()
            + m.gamma_i[i].pow(2).sum()
            + m.gamma_i[j].pow(2).sum()
            + m.beta_i[i].pow(2).sum()
            + m.beta_i[j].pow(2).sum()
        ) / len(u)
        reg_content = m.E.pow(2).sum() + m.beta_content.pow(2).sum()
        return diff, self.config.l2 * reg + self.config.l2_content * reg_content
