"""Built-in content encoders; importing this package fills :data:`ENCODERS`.

=====================  ========  ===============================================  ==========
name                   modality  what                                             needs
=====================  ========  ===============================================  ==========
``sbert``              text      Sentence-BERT (default all-MiniLM-L6-v2, 384-d)  weights
``hf-text``            text      HF encoder, mean pooling over tokens             weights
``clip-text``          text      CLIP text tower (projected)                      weights
``clip``               image     CLIP image tower (projected)                     weights
``vit``                image     ViT CLS token                                    weights
``whisper``            audio     Whisper encoder, mean over audio frames          weights
``clip-frames``        video     CLIP on sampled frames, mean / max over time     weights
``handcrafted-text``   text      hashed bag of words (256-d)                      nothing
``handcrafted-image``  image     colour / edge / texture statistics (56-d)        nothing
``handcrafted-audio``  audio     log-mel and signal statistics (93-d)             nothing
``handcrafted-video``  video     colour and motion statistics (49-d)              nothing
=====================  ========  ===============================================  ==========

Pretrained encoders take ``model`` = a hub name (internet or a filled HF cache) or a local
directory (offline). :func:`build_encoder` turns a short spec such as
``"clip:openai/clip-vit-base-patch32"`` into an encoder.
"""

from __future__ import annotations

from typing import Any

from sensorec.features.base import ENCODERS, MODALITIES, Encoder
from sensorec.features.encoders._pretrained import (
    ModelLoadError,
    PretrainedEncoder,
    PretrainedEncoderConfig,
    directory_sha256,
    weights_fingerprint,
)
from sensorec.features.encoders.audio import WhisperAudioConfig, WhisperAudioEncoder
from sensorec.features.encoders.handcrafted import (
    HandcraftedAudioConfig,
    HandcraftedAudioEncoder,
    HandcraftedImageConfig,
    HandcraftedImageEncoder,
    HandcraftedTextConfig,
    HandcraftedTextEncoder,
    HandcraftedVideoConfig,
    HandcraftedVideoEncoder,
)
from sensorec.features.encoders.image import (
    ClipImageConfig,
    ClipImageEncoder,
    ViTImageConfig,
    ViTImageEncoder,
)
from sensorec.features.encoders.text import (
    ClipTextConfig,
    ClipTextEncoder,
    HFTextConfig,
    HFTextEncoder,
    SbertConfig,
    SbertEncoder,
)
from sensorec.features.encoders.video import ClipFramesConfig, ClipFramesEncoder

#: ``(name, modality) -> registered name`` for short names that depend on the modality.
_ALIASES = {
    ("clip", "video"): "clip-frames",
    ("clip", "text"): "clip-text",
}


def resolve_encoder_name(name: str, modality: str | None = None) -> str:
    """Registered encoder name for a short ``name`` (``"handcrafted"`` + modality ->
    ``"handcrafted-<modality>"``, ``"clip"`` + video -> ``"clip-frames"``, + text ->
    ``"clip-text"``)."""
    name = name.strip().lower()
    if modality is not None and modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}; use one of {MODALITIES}")
    if name == "handcrafted":
        if modality is None:
            raise ValueError("encoder 'handcrafted' needs a modality (text, image, audio or video)")
        return f"handcrafted-{modality}"
    return _ALIASES.get((name, modality or ""), name)


def build_encoder(spec: str, modality: str | None = None, **overrides: Any) -> Encoder[Any]:
    """Build an encoder from ``"NAME[:MODEL]"``.

    ``NAME`` is a registered encoder or a short name (:func:`resolve_encoder_name`);
    ``MODEL`` (everything after the first ``:``) sets the config's ``model`` (a hub name or a
    local directory). ``overrides`` are further config fields (``batch_size=64``,
    ``device="cuda"``, ``normalize=True``...), validated by the encoder's typed config.

    Examples: ``build_encoder("sbert")``, ``build_encoder("clip:/models/clip", "video")``,
    ``build_encoder("handcrafted", "audio")``.

    Raises:
        KeyError: unknown encoder name (the message lists the known ones).
        ValueError: the encoder does not fit ``modality``, or takes no model.
        sensorec.config.ConfigError: an override is not a field of the encoder's config.
        ModelLoadError: the weights could not be loaded.
    """
    name, sep, model = spec.partition(":")
    if not name.strip():
        raise ValueError(f"encoder spec {spec!r} has no name; expected NAME[:MODEL]")
    cls = ENCODERS.get(resolve_encoder_name(name, modality))
    if modality is not None and cls.modality != modality:
        raise ValueError(
            f"encoder {cls.name!r} encodes {cls.modality}, not {modality} (spec {spec!r})"
        )
    data = dict(overrides)
    if sep:
        if not model.strip():
            raise ValueError(f"encoder spec {spec!r} has an empty model after ':'")
        if "model" not in cls.config_class.model_fields:
            raise ValueError(f"encoder {cls.name!r} takes no model (spec {spec!r})")
        data["model"] = model.strip()
    config = cls.config_class.from_dict(data, source=f"options of encoder {cls.name!r}")
    return cls(config)


__all__ = [
    "ENCODERS",
    "ClipFramesConfig",
    "ClipFramesEncoder",
    "ClipImageConfig",
    "ClipImageEncoder",
    "ClipTextConfig",
    "ClipTextEncoder",
    "HFTextConfig",
    "HFTextEncoder",
    "HandcraftedAudioConfig",
    "HandcraftedAudioEncoder",
    "HandcraftedImageConfig",
    "HandcraftedImageEncoder",
    "HandcraftedTextConfig",
    "HandcraftedTextEncoder",
    "HandcraftedVideoConfig",
    "HandcraftedVideoEncoder",
    "ModelLoadError",
    "PretrainedEncoder",
    "PretrainedEncoderConfig",
    "SbertConfig",
    "SbertEncoder",
    "ViTImageConfig",
    "ViTImageEncoder",
    "WhisperAudioConfig",
    "WhisperAudioEncoder",
    "build_encoder",
    "directory_sha256",
    "resolve_encoder_name",
    "weights_fingerprint",
]
