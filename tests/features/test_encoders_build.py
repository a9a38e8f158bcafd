from __future__ import annotations

import pytest

from sensorec.config import ConfigError
from sensorec.features.base import ENCODERS
from sensorec.features.encoders import (
    HandcraftedAudioEncoder,
    HandcraftedTextEncoder,
    build_encoder,
    resolve_encoder_name,
)


def test_registry_holds_every_builtin():
    names = {
        "sbert",
        "hf-text",
        "clip-text",
        "clip",
        "vit",
        "whisper",
        "clip-frames",
        "handcrafted-text",
        "handcrafted-image",
        "handcrafted-audio",
        "handcrafted-video",
    }
    assert names <= set(ENCODERS.names())
    for name in names:
        cls = ENCODERS.get(name)
        assert cls.name == name
        assert cls.modality in ("text", "image", "audio", "video")


def test_short_names_depend_on_modality():
    assert resolve_encoder_name("handcrafted", "audio") == "handcrafted-audio"
    assert resolve_encoder_name("clip", "video") == "clip-frames"
    assert resolve_encoder_name("clip", "text") == "clip-text"
    assert resolve_encoder_name("clip", "image") == "clip"
    assert resolve_encoder_name("CLIP") == "clip"
    with pytest.raises(ValueError, match="needs a modality"):
        resolve_encoder_name("handcrafted")
    with pytest.raises(ValueError, match="unknown modality"):
        resolve_encoder_name("clip", "smell")


def test_build_with_overrides():
    enc = build_encoder("handcrafted", "audio", n_mels=24, batch_size=7)
    assert isinstance(enc, HandcraftedAudioEncoder)
    assert enc.config.n_mels == 24 and enc.config.batch_size == 7 and enc.dim == 2 * 24 + 13
    assert isinstance(build_encoder("handcrafted-text"), HandcraftedTextEncoder)


def test_build_errors():
    with pytest.raises(KeyError, match="known:"):
        build_encoder("no-such-encoder")
    with pytest.raises(ValueError, match="encodes image, not audio"):
        build_encoder("handcrafted-image", "audio")
    with pytest.raises(ValueError, match="takes no model"):
        build_encoder("handcrafted:some/model", "image")
    with pytest.raises(ValueError, match="empty model"):
        build_encoder("clip:", "image")
    with pytest.raises(ValueError, match="no name"):
        build_encoder(":x")
    with pytest.raises(ConfigError, match="n_melz"):
        build_encoder("handcrafted", "audio", n_melz=3)


def test_model_part_keeps_colons(tmp_path):
    pytest.importorskip("transformers")
    from sensorec.testing.tiny_models import save_tiny_vit

    path = save_tiny_vit(tmp_path / "a:b")  # everything after the first ':' is the model
    enc = build_encoder(f"vit:{path}", "image")
    assert enc.config.model == str(path) and enc.dim == 32
