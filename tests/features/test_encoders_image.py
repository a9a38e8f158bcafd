from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest

pytest.importorskip("transformers", reason="pretrained encoders need transformers")

from sensorec.features.encoders import (
    ClipImageConfig,
    ClipImageEncoder,
    ModelLoadError,
    ViTImageConfig,
    ViTImageEncoder,
    build_encoder,
)
from sensorec.testing.media import make_image
from sensorec.testing.tiny_models import save_tiny_clip, save_tiny_vit


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {"clip": save_tiny_clip(root / "clip"), "vit": save_tiny_vit(root / "vit"), "root": root}


IMAGES = [
    make_image((40, 30), (220, 20, 20), "solid"),
    make_image((64, 64), (20, 20, 220), "checker"),
    make_image((50, 80), (20, 200, 20), "noise", seed=1),
]


@pytest.mark.parametrize("name,dim", [("clip", 16), ("vit", 32)])
def test_shapes_determinism_and_batching(models, name, dim):
    enc = build_encoder(f"{name}:{models[name]}", "image", batch_size=2)
    assert enc.dim == dim
    out = enc.encode(IMAGES)
    assert out.shape == (3, dim) and out.dtype == np.float32 and np.isfinite(out).all()
    np.testing.assert_array_equal(out, enc.encode(IMAGES))
    singles = np.concatenate([enc.encode([im]) for im in IMAGES])
    np.testing.assert_allclose(out, singles, atol=1e-5)  # batch composition does not matter
    assert np.abs(out[0] - out[1]).max() > 1e-3 and np.abs(out[1] - out[2]).max() > 1e-3
    assert enc.encode([]).shape == (0, dim)


def test_clip_normalize_and_grey_input(models):
    enc = ClipImageEncoder(ClipImageConfig(model=str(models["clip"]), normalize=True))
    out = enc.encode([IMAGES[0], IMAGES[0].convert("L")])
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    with pytest.raises(TypeError, match="input 0"):
        enc.encode([np.zeros((4, 4, 3))])


def test_vit_mean_pooling_differs_from_cls(models):
    cls_out = ViTImageEncoder(ViTImageConfig(model=str(models["vit"]))).encode(IMAGES[:1])
    mean_out = ViTImageEncoder(ViTImageConfig(model=str(models["vit"]), pooling="mean")).encode(
        IMAGES[:1]
    )
    assert not np.allclose(cls_out, mean_out)


def test_fingerprint_hashes_the_weights(models):
    root = models["root"]
    same = save_tiny_clip(root / "clip_same", seed=0)
    other = save_tiny_clip(root / "clip_other", seed=1)
    fp = {
        k: ClipImageEncoder(ClipImageConfig(model=str(p))).fingerprint()
        for k, p in [("a", models["clip"]), ("b", same), ("c", other)]
    }
    assert fp["a"]["weights"]["source"] == "local"
    assert fp["a"]["weights"]["sha256"] == fp["b"]["weights"]["sha256"]
    assert fp["a"]["weights"]["sha256"] != fp["c"]["weights"]["sha256"]
    assert fp["a"]["encoder"] == "clip" and fp["a"]["modality"] == "image"


def test_missing_image_processor_falls_back_with_a_warning(models, tmp_path, caplog):
    bare = tmp_path / "bare"
    shutil.copytree(models["vit"], bare)
    (bare / "preprocessor_config.json").unlink()
    with caplog.at_level(logging.WARNING, logger="sensorec"):
        enc = ViTImageEncoder(ViTImageConfig(model=str(bare)))
    assert "no image processor" in caplog.text
    assert enc.encode(IMAGES[:2]).shape == (2, 32)


def test_unloadable_model_says_what_to_do(tmp_path):
    with pytest.raises(ModelLoadError, match="local directory"):
        build_encoder("vit:no-such-org/no-such-model-xyz", "image")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(ModelLoadError, match="save_pretrained"):
        build_encoder(f"clip:{tmp_path / 'empty_dir'}", "image")
