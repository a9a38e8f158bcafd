"""Generators of small media files for tests: images, audio (wav, m4a/mp4 AAC), video with
and without sound, and damaged files.

Everything is synthesised with numpy, Pillow and PyAV (its bundled FFmpeg), so the files
can be written anywhere without network access. Content is a deterministic function of the
arguments (no global randomness); pass ``seed`` where noise is involved.
"""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.video.stream import VideoStream
from PIL import Image

Color = tuple[int, int, int]


def make_image(
    size: tuple[int, int] = (64, 48),
    color: Color = (200, 30, 30),
    pattern: str = "solid",
    seed: int = 0,
) -> Image.Image:
    """An RGB image of ``size`` = (width, height).

    ``pattern``: ``"solid"`` (one colour), ``"checker"`` (colour and black 8-pixel squares,
    sharp edges), ``"noise"`` (colour plus Gaussian noise drawn from ``seed``), ``"gradient"``
    (colour fading to black from left to right, smooth).
    """
    width, height = size
    # [H, W, 3] float32 (float64 once noise is added)
    base: np.ndarray = np.broadcast_to(np.asarray(color, np.float32), (height, width, 3)).copy()
    if pattern == "checker":
        yy, xx = np.mgrid[0:height, 0:width]
        mask = ((yy // 8 + xx // 8) % 2).astype(bool)
        base[mask] = 0.0
    elif pattern == "noise":
        rng = np.random.default_rng(seed)
        base = base + rng.normal(0.0, 40.0, base.shape)
    elif pattern == "gradient":
        base = base * np.linspace(1.0, 0.0, width, dtype=np.float32)[None, :, None]
    elif pattern != "solid":
        raise ValueError(f"unknown pattern {pattern!r}")
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")


def write_image(path: str | Path, **kwargs) -> Path:
    """Write :func:`make_image` (same keyword arguments) in the format of the file suffix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    make_image(**kwargs).save(path)
    return path


def make_tone(
    seconds: float = 1.0, freq: float = 440.0, sample_rate: int = 16000, amplitude: float = 0.5
) -> np.ndarray:
    """A sine tone, float32 ``[S]``; ``freq=0`` gives silence."""
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_wav(
    path: str | Path,
    seconds: float = 1.0,
    freq: float = 440.0,
    sample_rate: int = 16000,
    channels: int = 1,
    amplitude: float = 0.5,
) -> Path:
    """Write a 16-bit PCM wav tone (the same signal on every channel)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    signal = make_tone(seconds, freq, sample_rate, amplitude)
    pcm = (np.clip(signal, -1, 1) * 32767).astype("<i2")
    pcm = np.repeat(pcm[:, None], channels, axis=1)  # [S, C] interleaved
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    return path


def write_encoded_audio(
    path: str | Path,
    seconds: float = 1.0,
    freq: float = 440.0,
    sample_rate: int = 44100,
    codec: str = "aac",
    amplitude: float = 0.5,
) -> Path:
    """Write a compressed audio-only file (e.g. ``.m4a`` / ``.mp4`` with AAC, ``.mp3``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    signal = make_tone(seconds, freq, sample_rate, amplitude)
    with av.open(str(path), "w") as container:
        stream = cast(AudioStream, container.add_stream(codec, rate=sample_rate))
        stream.layout = "mono"
        _encode_audio(container, stream, signal, sample_rate)
    return path


def _encode_audio(
    container: OutputContainer, stream: AudioStream, signal: np.ndarray, sample_rate: int
) -> None:
    chunk = 1024
    pts = 0
    fmt = stream.codec_context.format.name if stream.codec_context.format else "fltp"
    for start in range(0, len(signal), chunk):
        part = signal[start : start + chunk]
        if fmt in ("s16", "s16p"):
            data = (np.clip(part, -1, 1) * 32767).astype(np.int16)[None, :]
        else:
            data = part.astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
        frame.sample_rate = sample_rate
        frame.pts = pts
        frame.time_base = Fraction(1, sample_rate)
        pts += len(part)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def video_frames(
    n_frames: int = 24,
    size: tuple[int, int] = (64, 48),
    color: Color = (30, 160, 220),
    moving: bool = True,
) -> np.ndarray:
    """Frames ``[T, H, W, 3]`` uint8: a white square moving across a coloured background
    (or standing still with ``moving=False``)."""
    width, height = size
    frames = np.empty((n_frames, height, width, 3), np.uint8)
    side = max(4, min(width, height) // 4)
    for k in range(n_frames):
        frames[k] = color
        x = (k * 3) % max(1, width - side) if moving else width // 3
        y = (k * 2) % max(1, height - side) if moving else height // 3
        frames[k, y : y + side, x : x + side] = 255
    return frames


def write_video(
    path: str | Path,
    seconds: float = 1.0,
    fps: int = 24,
    size: tuple[int, int] = (64, 48),
    codec: str = "h264",
    audio: bool = True,
    audio_codec: str = "aac",
    freq: float = 440.0,
    color: Color = (30, 160, 220),
    moving: bool = True,
    gop: int | None = None,
) -> Path:
    """Write a video (``.mp4``, ``.mkv``...) of :func:`video_frames`, optionally with a tone.

    ``codec``: ``"h264"`` (libx264) or ``"mpeg4"``; width and height must be even. ``gop``
    sets the keyframe interval (frames).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    if width % 2 or height % 2:
        raise ValueError("width and height must be even for yuv420p video")
    n = max(1, round(seconds * fps))
    frames = video_frames(n, size, color, moving)
    with av.open(str(path), "w") as container:
        vstream = cast(
            VideoStream,
            container.add_stream("libx264" if codec == "h264" else codec, rate=fps),
        )
        vstream.width, vstream.height = width, height
        vstream.pix_fmt = "yuv420p"
        if gop is not None:
            vstream.codec_context.gop_size = gop
        if codec == "h264":
            vstream.options = {"preset": "ultrafast"}
        astream: AudioStream | None = None
        if audio:
            sr = 44100
            astream = cast(AudioStream, container.add_stream(audio_codec, rate=sr))
            astream.layout = "mono"
        for k in range(n):
            frame = av.VideoFrame.from_ndarray(frames[k], format="rgb24")
            frame.pts = k
            frame.time_base = Fraction(1, fps)
            for packet in vstream.encode(frame):
                container.mux(packet)
        for packet in vstream.encode(None):
            container.mux(packet)
        if astream is not None:
            _encode_audio(container, astream, make_tone(n / fps, freq, 44100), 44100)
    return path


def write_empty(path: str | Path) -> Path:
    """A zero-byte file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def write_garbage(path: str | Path, n_bytes: int = 2048, seed: int = 0) -> Path:
    """Random bytes that no decoder accepts (under any suffix)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        np.random.default_rng(seed).integers(0, 256, n_bytes, dtype=np.uint8).tobytes()
    )
    return path


def write_truncated(src: str | Path, path: str | Path, keep: float = 0.5) -> Path:
    """Copy the first ``keep`` fraction of the bytes of ``src`` to ``path``."""
    data = Path(src).read_bytes()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[: max(1, int(len(data) * keep))])
    return path
