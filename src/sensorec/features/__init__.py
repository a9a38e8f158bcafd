"""Item features: encoders, the item-keyed feature store, extraction and alignment.

- :class:`FeatureStore`: one modality + encoder, memory-mapped, versioned by a manifest hash.
- :func:`extract_features`: content manifest + encoder -> store (resumable, never stops for
  a bad item; see :mod:`sensorec.features.extract`).
- :func:`align_features`: store -> features in a dataset's vocabulary order.
- :func:`extract`, :func:`inspect_store`: what ``sensorec features extract|inspect`` call.
- :class:`Encoder`, :class:`EncoderConfig`, ``ENCODERS`` and ``build_encoder``: encoders
  (imported lazily: importing this package never loads transformers).
"""

from __future__ import annotations

from typing import Any

from sensorec.features.align import AlignedFeatures, align_features, feature_cache_key
from sensorec.features.api import extract, format_inspection, inspect_store
from sensorec.features.base import ENCODERS, MODALITIES, Encoder, EncoderConfig
from sensorec.features.extract import extract_features
from sensorec.features.store import FeatureStore, StoreError

__all__ = [
    "ENCODERS",
    "MODALITIES",
    "AlignedFeatures",
    "Encoder",
    "EncoderConfig",
    "FeatureStore",
    "StoreError",
    "align_features",
    "build_encoder",
    "extract",
    "extract_features",
    "feature_cache_key",
    "format_inspection",
    "inspect_store",
]


def __getattr__(name: str) -> Any:
    if name == "build_encoder":
        from sensorec.features.encoders import build_encoder

        return build_encoder
    raise AttributeError(f"module 'sensorec.features' has no attribute {name!r}")
