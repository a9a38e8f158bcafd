"""Reading audio from any container FFmpeg knows (wav, mp3, flac, ogg, m4a, mp4 with video...).

Decoding uses PyAV (bundled FFmpeg); the first audio stream is resampled to mono float32 at
the requested rate with ``av.AudioResampler``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from sensorec.media.errors import MediaError, check_file

#: Duration (seconds) at which the duration term of :func:`audio_quality` reaches 1.
QUALITY_REFERENCE_SECONDS = 10.0
#: A 25 ms frame whose RMS is below this (−50 dBFS) counts as silent.
SILENCE_RMS = 10 ** (-50 / 20)


@dataclass(frozen=True)
class Audio:
    """Mono audio: ``waveform`` float32 ``[S]`` in ``[-1, 1]`` at ``sample_rate`` Hz."""

    waveform: np.ndarray  # [S] float32
    sample_rate: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.waveform) / float(self.sample_rate)


def load_audio(
    path: str | Path, sample_rate: int = 16000, max_seconds: float | None = None
) -> Audio:
    """Decode the first audio stream of ``path`` to mono float32 at ``sample_rate`` Hz.

    Args:
        path: any file FFmpeg reads, including video containers (the video is ignored).
        sample_rate: output rate in Hz (16 kHz is what Whisper and most audio models want).
        max_seconds: stop decoding after this many seconds (from the stream start); ``None``
            reads everything.

    Raises:
        MediaError: ``missing``, ``empty`` (zero-byte file or no decoded samples),
            ``corrupt`` (FFmpeg cannot open or decode it), ``no_audio_stream``.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if max_seconds is not None and max_seconds <= 0:
        raise ValueError(f"max_seconds must be positive or None, got {max_seconds}")
    p = check_file(path)
    limit = None if max_seconds is None else round(max_seconds * sample_rate)
    chunks: list[np.ndarray] = []
    n_samples = 0
    try:
        with av.open(str(p)) as container:
            if not container.streams.audio:
                raise MediaError(p, "no_audio_stream", _stream_summary(container))
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)  # packed mono: [1, n] -> [n]
                    chunks.append(chunk)
                    n_samples += len(chunk)
                if limit is not None and n_samples >= limit:
                    break
            else:
                for out in resampler.resample(None):  # flush the resampler's buffer
                    chunks.append(out.to_ndarray().reshape(-1))
    except MediaError:
        raise
    except (av.FFmpegError, ValueError, EOFError) as exc:
        raise MediaError(p, "corrupt", str(exc) or type(exc).__name__) from None
    waveform = (
        np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
    )
    if limit is not None:
        waveform = waveform[:limit]
    if waveform.size == 0:
        raise MediaError(p, "empty", "the audio stream decodes to no samples")
    if not np.all(np.isfinite(waveform)):
        raise MediaError(p, "corrupt", "decoded samples are not finite")
    return Audio(waveform=np.ascontiguousarray(waveform), sample_rate=int(sample_rate))


def resample_audio(audio: Audio, sample_rate: int) -> Audio:
    """The same audio at another rate (FFmpeg's resampler, as in :func:`load_audio`)."""
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if audio.sample_rate == sample_rate or audio.waveform.size == 0:
        return Audio(audio.waveform, int(sample_rate)) if audio.waveform.size == 0 else audio
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(audio.waveform, dtype=np.float32)[None, :], format="flt", layout="mono"
    )
    frame.sample_rate = int(audio.sample_rate)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=int(sample_rate))
    parts = [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
    parts += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    waveform = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    return Audio(waveform.astype(np.float32, copy=False), int(sample_rate))


def _stream_summary(container: av.container.InputContainer) -> str:
    kinds = [s.type for s in container.streams]
    return "streams: " + (", ".join(kinds) if kinds else "none")


def silence_ratio(audio: Audio, frame_seconds: float = 0.025) -> float:
    """Fraction of non-overlapping ``frame_seconds`` frames whose RMS is below −50 dBFS."""
    frame = max(1, round(frame_seconds * audio.sample_rate))
    n = len(audio.waveform) // frame
    if n == 0:
        rms = (
            math.sqrt(float(np.mean(np.square(audio.waveform, dtype=np.float64))))
            if audio.waveform.size
            else 0.0
        )
        return 1.0 if rms < SILENCE_RMS else 0.0
    frames = audio.waveform[: n * frame].reshape(n, frame).astype(np.float64)  # [n, frame]
    rms = np.sqrt(np.mean(frames**2, axis=1))  # [n]
    return float(np.mean(rms < SILENCE_RMS))


def audio_quality(audio: Audio) -> float:
    """Quality score in ``[0, 1]`` from duration and silence.

    ``quality = min(1, duration / 10 s) * (1 - silence_ratio)`` where ``silence_ratio`` is the
    fraction of 25 ms frames below −50 dBFS (:func:`silence_ratio`). Silent or very short
    clips score near 0; ten seconds or more of sound score 1.
    """
    if audio.waveform.size == 0:
        return 0.0
    duration_term = min(1.0, audio.duration / QUALITY_REFERENCE_SECONDS)
    return float(duration_term * (1.0 - silence_ratio(audio)))
