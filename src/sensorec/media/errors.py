"""The one error type raised when an item's media cannot be read."""

from __future__ import annotations

from pathlib import Path

MEDIA_ERROR_REASONS = (
    "missing",  # the file does not exist
    "corrupt",  # the file exists but could not be decoded
    "empty",  # the file (or its decoded stream) holds no data
    "no_audio_stream",  # a container without an audio stream was asked for audio
    "no_video_stream",  # a container without a video stream was asked for video
    "unsupported",  # readable, but not something sensorec can use (e.g. a decompression bomb)
)


class MediaError(Exception):
    """An item's media file could not be read.

    Attributes:
        path: the file, as a string.
        reason: short machine-readable cause, one of :data:`MEDIA_ERROR_REASONS`; the
            feature pipeline counts missing items by reason.
        detail: a human-readable explanation (the decoder's message where there is one).
    """

    def __init__(self, path: str | Path, reason: str, detail: str = "") -> None:
        if reason not in MEDIA_ERROR_REASONS:
            raise ValueError(
                f"unknown media error reason {reason!r}; use one of {MEDIA_ERROR_REASONS}"
            )
        self.path = str(path)
        self.reason = reason
        self.detail = detail
        message = f"{self.path}: {reason}"
        if detail:
            message += f" ({detail})"
        super().__init__(message)

    def __reduce__(self):  # keep pickling (multiprocessing) working with our signature
        return (type(self), (self.path, self.reason, self.detail))


def check_file(path: str | Path) -> Path:
    """Raise ``MediaError`` ("missing" / "empty") unless ``path`` is a non-empty file."""
    p = Path(path)
    if not p.exists():
        raise MediaError(p, "missing", "no such file")
    if not p.is_file():
        raise MediaError(p, "unsupported", "not a regular file")
    if p.stat().st_size == 0:
        raise MediaError(p, "empty", "the file has zero bytes")
    return p
