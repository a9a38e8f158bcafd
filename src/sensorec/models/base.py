"""The model API every recommender fits: config, pure module, wrapper.

- A :class:`ModelConfig` subclass (frozen, typed) holds the model's hyperparameters.
- A pure ``nn.Module`` takes sizes and a ``torch.Generator`` in its constructor and maps
  tensors to tensors.
- A :class:`Recommender` wrapper owns the vocabularies, the unknown-id policy, the
  training hooks (:meth:`TorchRecommender.batches`, :meth:`TorchRecommender.loss`) used by
  the one training loop in :mod:`sensorec.training`, and batch-first scoring
  ``score(users) -> [B, n_items]``.

Models never touch the filesystem: checkpoints are written by
:mod:`sensorec.training.checkpoint` from :meth:`Recommender.state_tensors`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from sensorec.config import Config
from sensorec.data.dataset import Dataset, Vocabulary
from sensorec.registry import Registry

TASKS = ("ranking", "rating")


class ModelConfig(Config):
    """Base of model hyperparameter configs."""


@dataclass(frozen=True)
class Recommendations:
    """Top-K result for one user: raw item ids and their scores, best first."""

    user: Any
    items: list[Any]
    scores: list[float]


class Recommender(ABC):
    """Wrapper around a model: vocabularies, scoring, training hooks.

    Subclasses set ``name``, ``config_class``, ``tasks`` (supported of ``"ranking"``,
    ``"rating"``) and ``modalities`` (content features accepted; empty for ID-only models).
    """

    name: ClassVar[str]
    config_class: ClassVar[type[ModelConfig]]
    tasks: ClassVar[tuple[str, ...]] = ("ranking",)
    modalities: ClassVar[tuple[str, ...]] = ()
    trainable: ClassVar[bool] = True

    def __init__(
        self,
        config: ModelConfig,
        users: Vocabulary,
        items: Vocabulary,
        *,
        task: str = "ranking",
        features: Mapping[str, Any] | None = None,
    ) -> None:
        features = dict(features or {})
        self.check_compatible(task, features)
        self.config = config
        self.users = users
        self.items = items
        self.task = task
        self.features = features
        self.device = torch.device("cpu")
        self.batch_size = 2048
        # Items each user saw in training, for serving-time exclusion.
        self.seen: sp.csr_matrix = sp.csr_matrix((len(users), len(items)), dtype=np.float32)

    @classmethod
    def check_compatible(cls, task: str, modalities: Iterable[str]) -> None:
        """Raise ``ValueError`` when the model cannot do ``task`` with these modalities."""
        if task not in cls.tasks:
            raise ValueError(f"model {cls.name!r} supports tasks {cls.tasks}, not {task!r}")
        given = sorted(modalities)
        if given and not cls.modalities:
            raise ValueError(f"model {cls.name!r} takes no content features; got {given}")
        unknown = sorted(set(given) - set(cls.modalities))
        if unknown:
            raise ValueError(
                f"model {cls.name!r} accepts modalities {cls.modalities}, not {unknown}"
            )

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    # -- training hooks ------------------------------------------------------------------
    def prepare(
        self, train: Dataset, *, seed: int, device: torch.device, batch_size: int = 2048
    ) -> None:
        """Build internal state from the training data (called once before training)."""
        self.device = device
        self.batch_size = batch_size
        self.seen = train.csr()

    # -- scoring -------------------------------------------------------------------------
    @abstractmethod
    def score(self, users: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
        """Scores ``[B, C]`` for user indices ``[B]`` and item indices ``[C]`` (all items
        when None). Higher is better."""

    def predict(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Point predictions ``[B]`` for (user, item) pairs (ratings in the rating task)."""
        raise NotImplementedError(f"model {self.name!r} does not predict ratings")

    # -- state -----------------------------------------------------------------------------
    def state_tensors(self) -> dict[str, torch.Tensor]:
        """All learned state as named tensors (for safetensors checkpoints)."""
        return {}

    def load_state_tensors(self, state: Mapping[str, torch.Tensor]) -> None:
        """Restore state written by :meth:`state_tensors`."""

    def to(self, device: torch.device) -> Recommender:
        self.device = device
        return self

    def eval_mode(self) -> None:
        """Switch to inference behaviour (no dropout)."""

    # -- raw-id API ----------------------------------------------------------------------
    def recommend(
        self, user_ids: Sequence[Any], k: int = 10, *, exclude_seen: bool = True
    ) -> list[Recommendations]:
        """Top-``k`` items for raw user ids. Unknown user ids raise ``UnknownIdError``."""
        from sensorec.evaluation.ranking import topk_scores

        idx = self.users.lookup(list(user_ids))
        self.eval_mode()
        top_items, top_scores = topk_scores(
            self.score,
            idx,
            k,
            exclude=self.seen if exclude_seen else None,
            n_items=self.n_items,
            device=self.device,
        )
        out = []
        for raw, its, scs in zip(user_ids, top_items, top_scores, strict=True):
            keep = its >= 0
            out.append(
                Recommendations(
                    user=raw,
                    items=self.items.raw(its[keep]).tolist(),
                    scores=[float(s) for s in scs[keep]],
                )
            )
        return out


class TorchRecommender(Recommender):
    """A recommender whose parameters live in a pure ``nn.Module`` trained by the loop."""

    module: nn.Module

    @abstractmethod
    def build_module(self, generator: torch.Generator) -> nn.Module:
        """Create the pure module (sizes from the vocabularies, init from ``generator``)."""

    def prepare(
        self, train: Dataset, *, seed: int, device: torch.device, batch_size: int = 2048
    ) -> None:
        super().prepare(train, seed=seed, device=device, batch_size=batch_size)
        gen = torch.Generator().manual_seed(int(seed))
        self.module = self.build_module(gen).to(device)

    @abstractmethod
    def batches(self, epoch: int, rng: np.random.Generator) -> Iterable[Any]:
        """Training batches of one epoch (tensors already on ``self.device``)."""

    @abstractmethod
    def loss(self, batch: Any) -> torch.Tensor:
        """Scalar training loss of one batch."""

    def n_batches(self) -> int | None:
        """Number of batches per epoch, for progress bars (None if unknown)."""
        return None

    def parameters(self) -> Iterable[nn.Parameter]:
        return self.module.parameters()

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().contiguous() for k, v in self.module.state_dict().items()}

    def load_state_tensors(self, state: Mapping[str, torch.Tensor]) -> None:
        if not hasattr(self, "module"):
            self.module = self.build_module(torch.Generator().manual_seed(0))
        self.module.load_state_dict(dict(state))
        self.module.to(self.device)

    def to(self, device: torch.device) -> Recommender:
        super().to(device)
        if hasattr(self, "module"):
            self.module.to(device)
        return self

    def eval_mode(self) -> None:
        if hasattr(self, "module"):
            self.module.eval()


MODELS: Registry[type[Recommender]] = Registry("model", group="sensorec.models")


def all_items(n_items: int, device: torch.device) -> torch.Tensor:
    return torch.arange(n_items, device=device)
