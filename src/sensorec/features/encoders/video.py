"""Video encoder: CLIP image features of the sampled frames, pooled over time
(``clip-frames``). Input: one :class:`sensorec.media.Video` per item."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image

from sensorec.features.base import ENCODERS
from sensorec.features.encoders._pretrained import PretrainedEncoder, l2_normalize
from sensorec.features.encoders.image import ClipImageConfig, ClipImageEncoder
from sensorec.media.video import Video


def check_videos(batch: Sequence[Any]) -> list[Video]:
    items = list(batch)
    for k, v in enumerate(items):
        if not isinstance(v, Video):
            raise TypeError(
                f"video encoder input {k} is a {type(v).__name__}, expected sensorec.media.Video"
            )
        if v.frames.ndim != 4 or v.frames.shape[0] == 0 or v.frames.shape[-1] != 3:
            raise ValueError(
                f"video encoder input {k}: frames must be [T>0, H, W, 3], got {v.frames.shape}"
            )
    return items


class ClipFramesConfig(ClipImageConfig):
    """CLIP image tower on each sampled frame, then ``pooling`` over time: ``"mean"`` or
    ``"max"`` (element-wise). With ``normalize`` the frame embeddings are L2-normalised before
    pooling and the pooled vector again after. ``batch_size`` counts frames in the forward
    pass. ``n_frames``, ``fps`` and ``size`` are the frame sampling options the feature
    pipeline passes to :func:`sensorec.media.load_video` (224: CLIP's input side)."""

    pooling: Literal["mean", "max"] = "mean"
    n_frames: int = 8
    fps: float | None = None
    size: int | None = 224


@ENCODERS.register("clip-frames")
class ClipFramesEncoder(PretrainedEncoder[ClipFramesConfig]):
    """Time-pooled CLIP frame embeddings -> ``[B, projection_dim]``."""

    name = "clip-frames"
    modality = "video"
    config_class = ClipFramesConfig

    def __init__(self, config: ClipFramesConfig) -> None:
        super().__init__(config)
        image_cfg = ClipImageConfig(
            model=config.model,
            revision=config.revision,
            normalize=config.normalize,
            batch_size=config.batch_size,
            device=config.device,
        )
        self.image_encoder = ClipImageEncoder(image_cfg)

    @property
    def dim(self) -> int:
        return self.image_encoder.dim

    def encode(self, batch: Sequence[Video]) -> np.ndarray:
        """``B`` videos -> float32 ``[B, projection_dim]``."""
        videos = check_videos(batch)
        images = [Image.fromarray(np.ascontiguousarray(f), "RGB") for v in videos for f in v.frames]
        emb = self.image_encoder.embed_images(images, normalize=self.config.normalize)  # [sum T, P]
        pooled = []
        start = 0
        for v in videos:
            part = emb[start : start + v.n_frames]  # [T, P]
            start += v.n_frames
            pooled.append(part.mean(0) if self.config.pooling == "mean" else part.max(0).values)
        out = torch.stack(pooled) if pooled else torch.zeros(0, self.dim)
        if self.config.normalize:
            out = l2_normalize(out)
        return out.numpy().astype(np.float32, copy=False)
