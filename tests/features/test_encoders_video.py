from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("transformers", reason="pretrained encoders need transformers")

from PIL import Image

from sensorec.features.encoders import ClipFramesEncoder, build_encoder
from sensorec.media import Video, load_video
from sensorec.testing.media import video_frames, write_video
from sensorec.testing.tiny_models import save_tiny_clip


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    return save_tiny_clip(tmp_path_factory.mktemp("models") / "clip")


def as_video(frames: np.ndarray) -> Video:
    return Video(frames, np.arange(len(frames), dtype=np.float64) / 8, len(frames) / 8)


def test_time_pooling_matches_frame_embeddings(clip_dir):
    red = as_video(video_frames(5, (32, 32), (220, 30, 30)))
    blue = as_video(video_frames(3, (32, 32), (30, 30, 220)))
    image_enc = build_encoder(f"clip:{clip_dir}", "image")
    per_frame = [image_enc.encode([Image.fromarray(f) for f in v.frames]) for v in (red, blue)]
    mean_enc = build_encoder(f"clip:{clip_dir}", "video", batch_size=4)
    max_enc = build_encoder(f"clip:{clip_dir}", "video", pooling="max")
    assert isinstance(mean_enc, ClipFramesEncoder) and mean_enc.dim == 16
    mean_out = mean_enc.encode([red, blue])
    max_out = max_enc.encode([red, blue])
    assert mean_out.shape == max_out.shape == (2, 16) and mean_out.dtype == np.float32
    for k in range(2):
        np.testing.assert_allclose(mean_out[k], per_frame[k].mean(0), atol=1e-5)
        np.testing.assert_allclose(max_out[k], per_frame[k].max(0), atol=1e-5)
    assert np.abs(mean_out[0] - mean_out[1]).max() > 1e-3
    np.testing.assert_array_equal(mean_out, mean_enc.encode([red, blue]))


def test_decoded_video_end_to_end(clip_dir, tmp_path):
    enc = build_encoder(f"clip:{clip_dir}", "video", normalize=True)
    opts = {"n_frames": enc.config.n_frames, "fps": enc.config.fps, "size": enc.config.size}
    video = load_video(write_video(tmp_path / "v.mp4", seconds=0.5, fps=12), **opts)
    out = enc.encode([video])
    assert out.shape == (1, 16)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="input 0"):
        enc.encode([Video(np.zeros((0, 4, 4, 3), np.uint8), np.zeros(0), 1.0)])
