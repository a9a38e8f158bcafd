"""Encoder contract shared by every content encoder (text, image, audio, video).

An encoder turns a batch of already-read media into a float matrix ``[B, D]``. Reading
media (and recording why an item's media is missing or corrupt) belongs to
:mod:`sensorec.media`; caching results belongs to :class:`sensorec.features.store.FeatureStore`.

Inputs by modality (what ``encode`` receives, one element per item):

- ``text``:  ``str``
- ``image``: ``PIL.Image.Image`` in RGB
- ``audio``: ``sensorec.media.Audio`` (mono float32 waveform + sample rate)
- ``video``: ``sensorec.media.Video`` (sampled RGB frames ``[T, H, W, 3]`` uint8 + timestamps)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from sensorec.config import Config
from sensorec.registry import Registry

MODALITIES = ("text", "image", "audio", "video")

C = TypeVar("C", bound="EncoderConfig")


class EncoderConfig(Config):
    """Fields every encoder config has."""

    batch_size: int = 32
    device: str | None = None  # None -> sensorec.utils.resolve_device precedence


class Encoder(ABC, Generic[C]):
    """Base class: ``encode(batch) -> np.ndarray [B, D]`` (float32).

    Subclasses set ``name`` (registry name), ``modality`` and ``config_class``, and build
    their model in ``__init__`` from the config (hub name or local directory).
    """

    name: ClassVar[str]
    modality: ClassVar[str]
    config_class: ClassVar[type[EncoderConfig]]

    def __init__(self, config: C) -> None:
        self.config = config

    @property
    @abstractmethod
    def dim(self) -> int:
        """Output dimension D."""

    @abstractmethod
    def encode(self, batch: Sequence[Any]) -> np.ndarray:
        """Encode one batch of media; returns float32 ``[B, D]``."""

    def fingerprint(self) -> dict[str, Any]:
        """What made the features: encoder name, config, weights revision / file hash.

        Stored in the feature-store manifest; two encoders with equal fingerprints must
        produce equal features for equal inputs.
        """
        return {"encoder": self.name, "modality": self.modality, "config": self.config.to_dict()}


ENCODERS: Registry[type[Encoder[Any]]] = Registry("encoder", group="sensorec.encoders")
