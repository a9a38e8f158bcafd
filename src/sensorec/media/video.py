"""Reading videos: a few frames sampled over the duration, decoded with PyAV.

Sampling policy (:func:`load_video`):

- evenly (default): ``n_frames`` targets at the centres of ``n_frames`` equal segments of the
  duration, ``t_i = (i + 0.5) * duration / n_frames``;
- at a fixed rate (``fps`` given): targets ``k / fps`` for ``k = 0 .. n_frames - 1`` that fall
  inside the duration (the first ``n_frames / fps`` seconds).

Each target takes the first decodable frame at or after it, provided that frame lies within
the target's window (the segment length, or ``1 / fps``, and at least 1.5 frame intervals).
A target left without a frame (damaged or truncated data) is dropped and counted:
``decoded_ratio = frames returned / targets``. Decoding jumps ahead with a keyframe seek when
the next target is more than :data:`SEEK_GAP_SECONDS` away, so long videos are not decoded in
full.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from sensorec.media.errors import MediaError, check_file

logger = logging.getLogger("sensorec.media")

#: Seek (to the keyframe before the next target) when it is further ahead than this.
SEEK_GAP_SECONDS = 4.0
#: Mean absolute difference (grey levels in [0, 1]) of consecutive sampled frames at which a
#: video counts as fully non-static in :func:`video_quality`.
QUALITY_MOTION_SCALE = 0.02


@dataclass(frozen=True)
class Video:
    """Frames sampled from a video.

    Attributes:
        frames: ``[T, H, W, 3]`` uint8 RGB.
        timestamps: ``[T]`` float64, seconds from the start of the video stream.
        duration: seconds, of the whole video stream (not only the sampled part).
        decoded_ratio: frames obtained / frames asked for, in ``[0, 1]``.
    """

    frames: np.ndarray  # [T, H, W, 3] uint8
    timestamps: np.ndarray  # [T] float64
    duration: float
    decoded_ratio: float = 1.0

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])


def load_video(
    path: str | Path, n_frames: int = 8, fps: float | None = None, size: int | None = None
) -> Video:
    """Sample frames from the first video stream of ``path`` (see the module docstring).

    Args:
        n_frames: number of frames asked for (at most this many are returned).
        fps: sample at this fixed rate from the start instead of evenly over the duration.
        size: resize so that the shorter side has ``size`` pixels (aspect ratio kept);
            ``None`` keeps the native size.

    Raises:
        MediaError: ``missing``, ``empty`` (zero bytes or zero duration), ``corrupt`` (FFmpeg
            cannot open it, or no frame could be decoded at any sampling time),
            ``no_video_stream``.
    """
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    if fps is not None and fps <= 0:
        raise ValueError(f"fps must be positive or None, got {fps}")
    if size is not None and size < 1:
        raise ValueError(f"size must be >= 1 or None, got {size}")
    p = check_file(path)
    try:
        with av.open(str(p)) as container:
            if not container.streams.video:
                raise MediaError(
                    p, "no_video_stream", "streams: " + ", ".join(s.type for s in container.streams)
                )
            stream = container.streams.video[0]
            duration = _known_duration(container, stream)
        if duration is None:
            duration = _probe_duration(p)
        if duration is None or duration <= 0:
            raise MediaError(p, "empty", "the video stream has no duration")
        with av.open(str(p)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            return _sample(p, container, stream, duration, n_frames, fps, size)
    except MediaError:
        raise
    except (av.FFmpegError, ValueError, EOFError) as exc:
        raise MediaError(p, "corrupt", str(exc) or type(exc).__name__) from None


def _stream_start(stream: av.video.stream.VideoStream) -> float:
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def _frame_rate(stream: av.video.stream.VideoStream) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return float(rate)
    return 25.0


def _known_duration(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> float | None:
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return float(Fraction(container.duration, av.time_base))
    if stream.frames and stream.frames > 0:
        return stream.frames / _frame_rate(stream)
    return None


def _probe_duration(path: Path) -> float | None:
    """Duration from packet timestamps (demux only, no decoding)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        start = _stream_start(stream)
        end = None
        for packet in container.demux(stream):
            if packet.pts is None or packet.time_base is None:
                continue
            t = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            end = t if end is None else max(end, t)
        return None if end is None else end - start


def _targets(duration: float, n_frames: int, fps: float | None) -> tuple[np.ndarray, float]:
    if fps is None:
        segment = duration / n_frames
        return (np.arange(n_frames) + 0.5) * segment, segment
    times = np.arange(n_frames) / fps
    times = times[times < duration]
    return times, 1.0 / fps


def _sample(
    path: Path,
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    duration: float,
    n_frames: int,
    fps: float | None,
    size: int | None,
) -> Video:
    targets, window = _targets(duration, n_frames, fps)
    if len(targets) == 0:
        raise MediaError(path, "empty", "no sampling time falls inside the video")
    rate = _frame_rate(stream)
    window = max(window, 1.5 / rate)
    eps = 0.25 / rate  # timestamps are rounded to the time base
    start = _stream_start(stream)
    n = len(targets)
    picked: list[np.ndarray | None] = [None] * n
    picked_times = np.zeros(n)
    out_size: tuple[int, int] | None = None
    bad_packets = 0
    decoded = 0
    seeked_for = -1
    i = 0
    restart = True
    while restart and i < n:
        restart = False
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.FFmpegError:
                bad_packets += 1
                continue
            for frame in frames:
                t = (float(frame.time) - start) if frame.time is not None else decoded / rate
                decoded += 1
                while i < n and t >= targets[i] + window:
                    i += 1  # this target's window passed without a decodable frame
                if i < n and t >= targets[i] - eps:
                    if out_size is None:
                        out_size = _output_size(frame.width, frame.height, size)
                    rgb = frame.reformat(
                        width=out_size[0], height=out_size[1], format="rgb24"
                    ).to_ndarray()
                    while i < n and t >= targets[i] - eps:
                        picked[i] = rgb
                        picked_times[i] = t
                        i += 1
                if i >= n:
                    break
                if targets[i] - t > SEEK_GAP_SECONDS and seeked_for != i:
                    seeked_for = i
                    offset = int((targets[i] + start) / stream.time_base)
                    container.seek(offset, stream=stream, backward=True, any_frame=False)
                    restart = True
                    break
            if i >= n or restart:
                break
    got = [k for k in range(n) if picked[k] is not None]
    if not got:
        raise MediaError(
            path,
            "corrupt",
            f"no frame decoded at the sampling times ({decoded} frames decoded, {bad_packets} bad packets)",
        )
    if len(got) < n:
        logger.debug("%s: %d of %d sampled frames decoded", path, len(got), n)
    got_frames = [f for f in picked if f is not None]  # the frames of `got`, in order
    frames_arr = np.stack(got_frames).astype(np.uint8, copy=False)  # [T, H, W, 3]
    return Video(
        frames=frames_arr,
        timestamps=picked_times[got].astype(np.float64),
        duration=float(duration),
        decoded_ratio=len(got) / n,
    )


def _output_size(width: int, height: int, size: int | None) -> tuple[int, int]:
    if size is None:
        return width, height
    if width <= height:
        return size, max(1, round(height * size / width))
    return max(1, round(width * size / height)), size


def motion_score(video: Video) -> float:
    """Mean absolute difference of consecutive sampled frames (grey levels in ``[0, 1]``).

    0 for a single frame or a still image shown for the whole video.
    """
    if video.n_frames < 2:
        return 0.0
    grey = video.frames.astype(np.float32).mean(axis=-1) / 255.0  # [T, H, W]
    return float(np.abs(np.diff(grey, axis=0)).mean())


def video_quality(video: Video) -> float:
    """Quality score in ``[0, 1]`` from decodability and motion.

    ``non_static = min(1, motion_score / 0.02)`` (:func:`motion_score`), and
    ``quality = decoded_ratio * (0.5 + 0.5 * non_static)``: a fully decodable video whose
    sampled frames change scores 1, a fully decodable still (a poster shown for the whole
    clip) 0.5, and a video with half its sampled frames undecodable at most 0.5.
    """
    if video.n_frames == 0:
        return 0.0
    non_static = min(1.0, motion_score(video) / QUALITY_MOTION_SCALE)
    return float(video.decoded_ratio * (0.5 + 0.5 * non_static))
