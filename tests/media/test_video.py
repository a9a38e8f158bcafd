from __future__ import annotations

import numpy as np
import pytest

import sensorec.media.video as video_module
from sensorec.media import MediaError, Video, load_video, motion_score, video_quality
from sensorec.testing.media import (
    write_empty,
    write_garbage,
    write_truncated,
    write_video,
    write_wav,
)


@pytest.fixture(scope="module")
def clip_with_sound(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "v.mp4"
    return write_video(
        path, seconds=1.0, fps=24, size=(64, 48), codec="h264", audio=True, color=(30, 160, 220)
    )


def test_even_sampling(clip_with_sound):
    video = load_video(clip_with_sound, n_frames=8)
    assert video.frames.shape == (8, 48, 64, 3) and video.frames.dtype == np.uint8
    assert video.duration == pytest.approx(1.0, abs=0.05)
    assert video.decoded_ratio == 1.0
    targets = (np.arange(8) + 0.5) / 8 * video.duration
    # each frame is the first one at or after its target (frames are 1/24 s apart)
    assert np.all(video.timestamps >= targets - 0.25 / 24)
    assert np.all(video.timestamps < targets + 1 / 24)
    # colours arrive in RGB order: the top-right pixel is background
    assert np.abs(video.frames[:, 0, -1].astype(int) - [30, 160, 220]).max() <= 8
    # the square moves, so consecutive samples differ
    assert motion_score(video) > 0


def test_fixed_rate_and_resize(clip_with_sound):
    video = load_video(clip_with_sound, n_frames=5, fps=6.0, size=24)
    assert video.frames.shape == (5, 24, 32, 3)  # shorter side 24, aspect ratio kept
    np.testing.assert_allclose(video.timestamps, np.arange(5) / 6.0, atol=1 / 24)


def test_mpeg4_without_audio(tmp_path):
    path = write_video(tmp_path / "v.mp4", seconds=0.5, fps=12, codec="mpeg4", audio=False)
    video = load_video(path, n_frames=4)
    assert video.n_frames == 4 and video.decoded_ratio == 1.0


def test_seeking_gives_the_same_frames_as_decoding_through(tmp_path, monkeypatch):
    path = write_video(tmp_path / "long.mp4", seconds=20, fps=5, size=(32, 24), audio=False, gop=10)
    seeked = load_video(path, n_frames=5)
    monkeypatch.setattr(video_module, "SEEK_GAP_SECONDS", 1e9)
    linear = load_video(path, n_frames=5)
    np.testing.assert_array_equal(seeked.timestamps, linear.timestamps)
    np.testing.assert_array_equal(seeked.frames, linear.frames)
    np.testing.assert_allclose(seeked.timestamps, (np.arange(5) + 0.5) * 4.0, atol=0.21)


def test_truncated_video_is_partially_decoded(tmp_path):
    path = write_video(tmp_path / "v.mkv", seconds=2.0, fps=12, audio=False, gop=6)
    video = load_video(write_truncated(path, tmp_path / "cut.mkv", keep=0.7), n_frames=8)
    assert 0 < video.decoded_ratio < 1
    assert video.n_frames == round(video.decoded_ratio * 8)
    assert np.all(np.diff(video.timestamps) > 0)
    assert video.duration == pytest.approx(2.0, abs=0.1)  # from the header, not the damage


def test_video_errors(tmp_path):
    cases = {
        "missing": tmp_path / "nope.mp4",
        "empty": write_empty(tmp_path / "empty.mp4"),
        "corrupt": write_garbage(tmp_path / "garbage.mp4"),
        "no_video_stream": write_wav(tmp_path / "a.wav", seconds=0.2),
    }
    for reason, path in cases.items():
        with pytest.raises(MediaError) as err:
            load_video(path)
        assert err.value.reason == reason, (reason, err.value)
    with pytest.raises(ValueError):
        load_video(cases["no_video_stream"], n_frames=0)


def test_video_quality(tmp_path):
    moving = load_video(write_video(tmp_path / "m.mp4", audio=False), n_frames=6)
    still = load_video(write_video(tmp_path / "s.mp4", audio=False, moving=False), n_frames=6)
    assert video_quality(moving) == pytest.approx(1.0)
    assert video_quality(still) == pytest.approx(0.5, abs=0.05)
    half = Video(moving.frames, moving.timestamps, moving.duration, decoded_ratio=0.5)
    assert video_quality(half) == pytest.approx(0.5)
