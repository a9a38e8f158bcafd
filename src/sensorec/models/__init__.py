"""Models: configs, pure modules and wrappers, found through the :data:`MODELS` registry.

Importing this package registers the built-in models. Third-party models register through
the ``sensorec.models`` entry-point group and then work exactly like built-ins.
"""

from __future__ import annotations

from sensorec.models import biasedmf, bprmf, neumf, pop, vbpr
from sensorec.models.base import MODELS, ModelConfig, Recommendations, Recommender, TorchRecommender

__all__ = [
    "MODELS",
    "ModelConfig",
    "Recommendations",
    "Recommender",
    "TorchRecommender",
    "biasedmf",
    "bprmf",
    "neumf",
    "pop",
    "vbpr",
]
