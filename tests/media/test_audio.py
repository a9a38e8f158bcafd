from __future__ import annotations

import wave

import numpy as np
import pytest

from sensorec.media import (
    Audio,
    MediaError,
    audio_quality,
    load_audio,
    resample_audio,
    silence_ratio,
)
from sensorec.testing.media import (
    make_tone,
    write_empty,
    write_encoded_audio,
    write_garbage,
    write_video,
    write_wav,
)


def dominant_frequency(audio: Audio) -> float:
    spectrum = np.abs(np.fft.rfft(audio.waveform))
    return float(np.fft.rfftfreq(len(audio.waveform), 1 / audio.sample_rate)[spectrum.argmax()])


def test_wav_stereo_is_resampled_to_mono_16k(tmp_path):
    path = write_wav(tmp_path / "a.wav", seconds=1.5, freq=440, sample_rate=44100, channels=2)
    audio = load_audio(path)
    assert audio.sample_rate == 16000 and audio.waveform.dtype == np.float32
    assert audio.waveform.ndim == 1
    assert abs(audio.duration - 1.5) < 0.01
    assert abs(dominant_frequency(audio) - 440) < 2
    assert 0.3 < np.abs(audio.waveform).max() <= 1.0


def test_other_sample_rate_and_max_seconds(tmp_path):
    path = write_wav(tmp_path / "a.wav", seconds=2.0, freq=300, sample_rate=16000)
    audio = load_audio(path, sample_rate=8000, max_seconds=0.5)
    assert audio.sample_rate == 8000 and len(audio.waveform) == 4000
    assert abs(dominant_frequency(audio) - 300) < 4


@pytest.mark.parametrize("suffix", [".m4a", ".mp4"])
def test_aac_audio(tmp_path, suffix):
    audio = load_audio(write_encoded_audio(tmp_path / f"a{suffix}", seconds=1.0, freq=660))
    assert abs(audio.duration - 1.0) < 0.1  # AAC adds priming samples
    assert abs(dominant_frequency(audio) - 660) < 3


def test_audio_track_of_a_video(tmp_path):
    path = write_video(tmp_path / "v.mp4", seconds=1.0, audio=True, freq=880)
    audio = load_audio(path)
    assert abs(audio.duration - 1.0) < 0.1
    assert abs(dominant_frequency(audio) - 880) < 3


def test_audio_errors(tmp_path):
    cases = {
        "missing": tmp_path / "nope.wav",
        "empty": write_empty(tmp_path / "empty.wav"),
        "corrupt": write_garbage(tmp_path / "garbage.mp3"),
        "no_audio_stream": write_video(tmp_path / "silent.mp4", audio=False, seconds=0.5),
    }
    for reason, path in cases.items():
        with pytest.raises(MediaError) as err:
            load_audio(path)
        assert err.value.reason == reason, (reason, err.value)
        assert err.value.path == str(path)


def test_wav_without_samples_is_empty(tmp_path):
    path = tmp_path / "zero.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"")
    assert path.stat().st_size > 0  # a header, no samples
    with pytest.raises(MediaError) as err:
        load_audio(path)
    assert err.value.reason == "empty"


def test_audio_quality():
    tone10 = Audio(make_tone(10.0, 440), 16000)
    tone1 = Audio(make_tone(1.0, 440), 16000)
    silence = Audio(make_tone(10.0, 0.0), 16000)
    half = Audio(np.concatenate([make_tone(5.0, 440), make_tone(5.0, 0.0)]), 16000)
    assert audio_quality(tone10) == pytest.approx(1.0)
    assert audio_quality(tone1) == pytest.approx(0.1)
    assert audio_quality(silence) == 0.0
    assert silence_ratio(half) == pytest.approx(0.5, abs=0.01)
    assert audio_quality(half) == pytest.approx(0.5, abs=0.01)


def test_resample_audio_keeps_pitch_and_length():
    audio = Audio(make_tone(1.0, 440, 44100), 44100)
    out = resample_audio(audio, 16000)
    assert out.sample_rate == 16000 and out.waveform.dtype == np.float32
    assert abs(len(out.waveform) - 16000) <= 32
    assert abs(dominant_frequency(out) - 440) < 2
    assert resample_audio(out, 16000) is out
