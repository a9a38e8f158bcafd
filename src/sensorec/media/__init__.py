"""Reading item media: images (Pillow), audio and video (PyAV, bundled FFmpeg).

Every loader raises :class:`MediaError` with a short ``reason`` ("missing", "corrupt",
"empty", "no_audio_stream", "no_video_stream", "unsupported") instead of a decoder
exception, so the feature pipeline can count missing items by cause. Each modality also has a
documented quality score in ``[0, 1]``.
"""

from __future__ import annotations

from sensorec.media.audio import Audio, audio_quality, load_audio, resample_audio, silence_ratio
from sensorec.media.errors import MEDIA_ERROR_REASONS, MediaError
from sensorec.media.image import image_quality, laplacian_variance, load_image
from sensorec.media.video import Video, load_video, motion_score, video_quality

__all__ = [
    "MEDIA_ERROR_REASONS",
    "Audio",
    "MediaError",
    "Video",
    "audio_quality",
    "image_quality",
    "laplacian_variance",
    "load_audio",
    "load_image",
    "load_video",
    "motion_score",
    "resample_audio",
    "silence_ratio",
    "video_quality",
]
