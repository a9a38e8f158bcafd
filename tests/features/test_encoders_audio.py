from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("transformers", reason="pretrained encoders need transformers")

import torch

from sensorec.features.encoders import WhisperAudioConfig, WhisperAudioEncoder
from sensorec.media import Audio
from sensorec.testing.media import make_tone
from sensorec.testing.tiny_models import save_tiny_whisper

SR = 16000


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    path = save_tiny_whisper(tmp_path_factory.mktemp("models") / "whisper", window_seconds=2)
    return WhisperAudioEncoder(WhisperAudioConfig(model=str(path), batch_size=4))


def tone(seconds, freq):
    return Audio(make_tone(seconds, freq, SR), SR)


def test_shapes_determinism_difference(encoder):
    clips = [tone(1.0, 440), tone(1.0, 2000), tone(0.3, 440)]
    out = encoder.encode(clips)
    assert out.shape == (3, 32) and out.dtype == np.float32 and encoder.dim == 32
    np.testing.assert_array_equal(out, encoder.encode(clips))
    assert np.abs(out[0] - out[1]).max() > 1e-3
    np.testing.assert_allclose(encoder.encode(clips[1:2])[0], out[1], atol=1e-5)


def test_mean_over_frames_that_hold_audio(encoder):
    clip = tone(0.5, 440)  # 0.5 s of a 2 s window: 25 of 100 encoder frames hold audio
    feats = encoder.extractor(
        [clip.waveform],
        sampling_rate=SR,
        padding="max_length",
        max_length=encoder.window_samples,
        return_tensors="np",
    )["input_features"]
    with torch.inference_mode():
        hidden = encoder.encoder(torch.from_numpy(np.asarray(feats, np.float32))).last_hidden_state[
            0
        ]
    valid = math.ceil(len(clip.waveform) / encoder.hop_length / 2)
    assert valid == 25
    expected = hidden[:valid].mean(0).numpy()
    got = encoder.encode([clip])[0]
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert not np.allclose(got, hidden.mean(0).numpy(), atol=1e-3)  # padding is excluded


def test_long_audio_windows(encoder, tmp_path):
    wave = np.concatenate([make_tone(2.0, 300), make_tone(2.0, 1200), make_tone(1.0, 3000)])
    pieces = [
        Audio(wave[: 2 * SR], SR),
        Audio(wave[2 * SR : 4 * SR], SR),
        Audio(wave[4 * SR :], SR),
    ]
    per_window = encoder.encode(pieces)  # [3, D]
    mean_out = encoder.encode([Audio(wave, SR)])[0]
    weights = np.array([100, 100, 50], dtype=np.float64)  # encoder frames holding audio
    np.testing.assert_allclose(
        mean_out, (per_window * weights[:, None]).sum(0) / weights.sum(), atol=1e-5
    )
    first = WhisperAudioEncoder(encoder.config.with_overrides({"windows": "first"}))
    np.testing.assert_allclose(first.encode([Audio(wave, SR)])[0], per_window[0], atol=1e-5)
    capped = WhisperAudioEncoder(encoder.config.with_overrides({"max_seconds": 3.0}))
    np.testing.assert_allclose(
        capped.encode([Audio(wave, SR)])[0],
        encoder.encode([Audio(wave[: 3 * SR], SR)])[0],
        atol=1e-5,
    )


def test_other_sample_rates_are_resampled(encoder):
    a16 = encoder.encode([tone(1.0, 440)])[0]
    a44 = encoder.encode([Audio(make_tone(1.0, 440, 44100), 44100)])[0]
    b16 = encoder.encode([tone(1.0, 2500)])[0]
    assert np.abs(a16 - a44).max() < 0.2 * np.abs(a16 - b16).max()


def test_bad_inputs(encoder):
    with pytest.raises(ValueError, match="input 1"):
        encoder.encode([tone(0.1, 440), Audio(np.zeros(0, np.float32), SR)])
    with pytest.raises(TypeError, match="input 0"):
        encoder.encode([np.zeros(100, np.float32)])
