from __future__ import annotations

import numpy as np
import pytest

from sensorec.features.encoders import build_encoder
from sensorec.media import Audio, Video
from sensorec.testing.media import make_image, make_tone, video_frames

SR = 16000


def encode(modality, items, **overrides):
    enc = build_encoder("handcrafted", modality, **overrides)
    out = enc.encode(items)
    assert out.shape == (len(items), enc.dim) and out.dtype == np.float32
    assert np.isfinite(out).all()
    return enc, out


def test_image_features():
    images = [
        make_image((64, 48), (220, 20, 20)),
        make_image((64, 48), (20, 20, 220)),
        make_image((64, 48), (128, 128, 128)),
        make_image((96, 48), (220, 20, 20), "checker"),
    ]
    enc, out = encode("image", images)
    assert enc.dim == 56
    red, blue, grey, checker = out
    assert np.abs(red - blue).max() > 0.5  # another colour, another feature
    assert red[:16].argmax() == 0 and blue[:16].argmax() == 10  # hue bins: red at 0, blue at 2/3
    assert grey[:16].sum() == 0  # greys put nothing in the hue histogram
    assert red[44] == 0 and checker[44] > 0.2  # edge density
    np.testing.assert_allclose(checker[55], np.log(2.0))  # aspect ratio
    np.testing.assert_allclose(encode("image", images[:1])[1], out[:1])


def test_audio_features():
    clicks = np.zeros(4 * SR, np.float32)
    clicks[:: SR // 2] = 1.0  # 120 BPM
    clips = [
        Audio(make_tone(2.0, 440), SR),
        Audio(make_tone(2.0, 3000), SR),
        Audio(clicks, SR),
        Audio(np.zeros(SR, np.float32), SR),
        Audio(make_tone(0.01, 440), SR),
    ]
    enc, out = encode("audio", clips)
    assert enc.dim == 93
    centroid = 2 * 40 + 4  # after log-mel mean/std, RMS mean/std, ZCR mean/std
    assert out[1, centroid] > out[0, centroid] + 0.2
    assert out[0, 80] == pytest.approx(0.5 / np.sqrt(2), abs=0.01)  # RMS of a 0.5 sine
    tempo = 2 * 40 + 10
    assert out[2, tempo] * 240 == pytest.approx(120, abs=3)
    assert out[3, 80] == 0.0  # silence: zero RMS, still finite everywhere
    assert build_encoder("handcrafted", "audio", n_mels=20).dim == 53


def test_video_features():
    moving = Video(video_frames(6, (64, 48), (30, 160, 220)), np.arange(6) / 6, 1.0)
    still = Video(video_frames(6, (64, 48), (30, 160, 220), moving=False), np.arange(6) / 6, 1.0)
    orange = Video(video_frames(6, (64, 48), (230, 120, 10)), np.arange(6) / 6, 1.0)
    one = Video(video_frames(1, (64, 48)), np.zeros(1), 0.1)
    enc, out = encode("video", [moving, still, orange, one])
    assert enc.dim == 49
    assert out[0, 42] > 0 and out[1, 42] == 0  # mean motion
    assert np.abs(out[0, :42] - out[2, :42]).max() > 0.1  # colour statistics differ
    assert np.all(out[3, 42:48] == 0)


def test_text_hashing():
    texts = ["Red cat, red dog!", "red dog red cat", "", "space war"]
    enc, out = encode("text", texts)
    assert enc.dim == 256
    np.testing.assert_allclose(out[0], out[1])  # case, punctuation and order do not matter
    np.testing.assert_allclose(np.linalg.norm(out[[0, 3]], axis=1), 1.0, atol=1e-6)
    assert np.all(out[2] == 0)
    assert abs(float(out[0] @ out[3])) < 0.5
    _, bigrams = encode("text", texts[:2], ngrams=2, dim=64)
    assert bigrams.shape == (2, 64) and not np.allclose(bigrams[0], bigrams[1])
    with pytest.raises(TypeError, match="input 0"):
        enc.encode([None])


def test_fingerprint_has_no_weights_but_a_version():
    fp = build_encoder("handcrafted", "image").fingerprint()
    assert (
        fp["encoder"] == "handcrafted-image" and fp["weights"] is None and fp["code_version"] >= 1
    )
