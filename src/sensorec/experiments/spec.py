"""Declarative experiment specification (YAML-loadable, typed, hashable)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from sensorec.config import Config, load_yaml
from sensorec.training.loop import TrainConfig


class DataSpec(Config):
    name: str = "synthetic"  # synthetic | ml-100k | ml-1m | path to a table / sequence file
    data_dir: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)  # passed to the loader
    implicit_threshold: float | None = None  # keep ratings >= threshold (ranking task)
    user_core: int = 0  # k-core filtering (iterated to a fixed point); 0 = off
    item_core: int = 0


class SplitSpec(Config):
    name: Literal["loo", "ratio", "random", "temporal"] = "loo"
    params: dict[str, Any] = Field(default_factory=dict)


class SampledSpec(Config):
    n: int = 100
    strategy: Literal["uniform", "popularity"] = "uniform"


class EvalSpec(Config):
    ks: tuple[int, ...] = (5, 10, 20)
    metrics: tuple[str, ...] = ("hr", "recall", "precision", "ndcg", "mrr", "map")
    candidates: Literal["full"] | SampledSpec = "full"
    batch_size: int = 1024
    item_chunk: int | None = None


class ExperimentSpec(Config):
    """Everything that defines one run; ``hash()`` names it."""

    name: str | None = None
    data: DataSpec = DataSpec()
    split: SplitSpec = SplitSpec()
    task: Literal["ranking", "rating"] = "ranking"
    model: str = "bprmf"
    model_params: dict[str, Any] = Field(default_factory=dict)  # validated by the model's config
    train: TrainConfig = TrainConfig()
    pretrain: bool = False  # NeuMF: pre-train GMF and MLP branches first (He et al. 2017)
    features: dict[str, str] = Field(default_factory=dict)  # modality -> feature store dir
    eval: EvalSpec = EvalSpec()
    seed: int = 0
    device: str | None = None

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: dict[str, Any] | None = None) -> ExperimentSpec:
        data = load_yaml(path)
        spec = cls.from_dict(data, source=str(path))
        return spec.with_overrides(overrides) if overrides else spec
