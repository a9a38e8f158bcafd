"""Handcrafted features (numpy/scipy only, no weights), so every modality works offline.

Registered as ``handcrafted-text``, ``handcrafted-image``, ``handcrafted-audio`` and
``handcrafted-video``. Each has a fixed, documented layout (see the class docstrings);
values are finite and roughly in ``[-1, 10]``.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from sensorec.features.base import ENCODERS, Encoder, EncoderConfig
from sensorec.features.encoders.audio import check_audio
from sensorec.features.encoders.image import _check_images
from sensorec.features.encoders.video import check_videos

_EPS = 1e-10


class _Handcrafted(Encoder[Any]):
    #: Bump when the feature recipe changes (recorded in the fingerprint).
    code_version: int = 1

    def fingerprint(self) -> dict[str, Any]:
        return {**super().fingerprint(), "code_version": self.code_version, "weights": None}

    def _item(self, x: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def encode(self, batch: Sequence[Any]) -> np.ndarray:
        rows = [self._item(x) for x in self._check(batch)]
        if not rows:
            return np.zeros((0, self.dim), np.float32)
        out = np.stack(rows).astype(np.float32)  # [B, D]
        bad = ~np.isfinite(out).all(axis=1)
        if bad.any():  # a bug, not a data problem: fail loudly
            raise FloatingPointError(
                f"{self.name}: non-finite features for batch rows {np.flatnonzero(bad).tolist()}"
            )
        return out

    def _check(self, batch: Sequence[Any]) -> list[Any]:
        return list(batch)


# --------------------------------------------------------------------------- text


class HandcraftedTextConfig(EncoderConfig):
    """Signed feature hashing of word n-grams.

    Tokens are maximal runs of Unicode letters/digits of the lower-cased text; with
    ``ngrams=2`` adjacent token pairs are added. Each feature goes to bucket
    ``h mod dim`` with sign ``+1`` or ``-1`` from one more bit of ``h`` (``h`` = the first
    8 bytes of BLAKE2b of the UTF-8 feature, so it is the same in every process). Bucket
    sums ``c`` become ``sign(c) * log(1 + |c|)`` and the vector is L2-normalised (all zeros
    for a text without tokens). No vocabulary or idf is fitted.
    """

    dim: int = 256
    ngrams: int = 1


_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


@ENCODERS.register("handcrafted-text")
class HandcraftedTextEncoder(_Handcrafted):
    """Hashed bag of words -> ``[B, dim]`` (256 by default)."""

    name = "handcrafted-text"
    modality = "text"
    config_class = HandcraftedTextConfig

    def __init__(self, config: HandcraftedTextConfig) -> None:
        if config.dim < 2:
            raise ValueError(f"dim must be >= 2, got {config.dim}")
        if config.ngrams not in (1, 2):
            raise ValueError(f"ngrams must be 1 or 2, got {config.ngrams}")
        super().__init__(config)

    @property
    def dim(self) -> int:
        return self.config.dim

    def _check(self, batch: Sequence[Any]) -> list[Any]:
        for k, text in enumerate(batch):
            if not isinstance(text, str):
                raise TypeError(f"text encoder input {k} is a {type(text).__name__}, expected str")
        return list(batch)

    def _item(self, text: str) -> np.ndarray:
        tokens = _TOKEN.findall(text.lower())
        feats = list(tokens)
        if self.config.ngrams == 2:
            feats += [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
        vec = np.zeros(self.dim, np.float64)
        for f in feats:
            h = int.from_bytes(hashlib.blake2b(f.encode("utf-8"), digest_size=8).digest(), "little")
            vec[h % self.dim] += 1.0 if (h >> 63) & 1 == 0 else -1.0
        vec = np.sign(vec) * np.log1p(np.abs(vec))
        norm = np.linalg.norm(vec)
        return vec / norm if norm > 0 else vec


# --------------------------------------------------------------------------- shared colour helpers


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """RGB in ``[0, 1]`` ``[..., 3]`` -> HSV in ``[0, 1]`` ``[..., 3]`` (hue 0 for greys)."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    v = rgb.max(-1)
    c = v - rgb.min(-1)
    s = np.where(v > 0, c / np.maximum(v, _EPS), 0.0)
    safe_c = np.maximum(c, _EPS)
    h = np.where(
        v == r,
        ((g - b) / safe_c) % 6.0,
        np.where(v == g, (b - r) / safe_c + 2.0, (r - g) / safe_c + 4.0),
    )
    h = np.where(c > 0, h / 6.0, 0.0)
    return np.stack([h, s, v], axis=-1)


def colour_features(rgb: np.ndarray) -> np.ndarray:
    """42 colour statistics of pixels ``[N, 3]`` (RGB in [0, 1]).

    ``[0:16]`` hue histogram weighted by saturation (sums to the mean saturation, so greys
    add nothing), ``[16:24]`` saturation histogram, ``[24:32]`` value histogram (each / N),
    ``[32:35]`` RGB mean, ``[35:38]`` RGB std, ``[38:42]`` saturation mean, std, value mean, std.
    """
    n = max(1, rgb.shape[0])
    hsv = rgb_to_hsv(rgb)
    h_hist = np.histogram(hsv[:, 0], bins=16, range=(0.0, 1.0), weights=hsv[:, 1])[0] / n
    s_hist = np.histogram(hsv[:, 1], bins=8, range=(0.0, 1.0))[0] / n
    v_hist = np.histogram(hsv[:, 2], bins=8, range=(0.0, 1.0))[0] / n
    stats = [
        rgb.mean(0),
        rgb.std(0),
        [hsv[:, 1].mean(), hsv[:, 1].std(), hsv[:, 2].mean(), hsv[:, 2].std()],
    ]
    return np.concatenate([h_hist, s_hist, v_hist, *stats])


def _grey(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114])


# --------------------------------------------------------------------------- image


class HandcraftedImageConfig(EncoderConfig):
    """Images are shrunk (never enlarged) to fit ``max_side`` pixels before the statistics."""

    max_side: int = 256


@ENCODERS.register("handcrafted-image")
class HandcraftedImageEncoder(_Handcrafted):
    """56 colour, edge and texture statistics per image.

    ``[0:42]`` :func:`colour_features`; ``[42]`` mean and ``[43]`` std of the Sobel gradient
    magnitude (grey in [0, 1], divided by its maximum ``4 * sqrt(2)``); ``[44]`` edge density
    (fraction of pixels with magnitude > 0.1); ``[45]`` ``log(1 + var(Laplacian)) / 10`` on grey
    levels 0..255; ``[46:54]`` 8-bin histogram of undirected gradient orientation weighted by
    magnitude (sums to 1, zeros for a flat image); ``[54]`` colourfulness (Hasler and
    Süsstrunk 2003); ``[55]`` ``log(width / height)`` of the original image.
    """

    name = "handcrafted-image"
    modality = "image"
    config_class = HandcraftedImageConfig
    DIM = 56

    @property
    def dim(self) -> int:
        return self.DIM

    def _check(self, batch: Sequence[Any]) -> list[Any]:
        return _check_images(batch)

    def _item(self, img: Image.Image) -> np.ndarray:
        width, height = img.size
        small = img.copy()
        small.thumbnail((self.config.max_side, self.config.max_side), Image.Resampling.BILINEAR)
        rgb = np.asarray(small, np.float64) / 255.0  # [H, W, 3]
        colour = colour_features(rgb.reshape(-1, 3))
        grey = _grey(rgb)  # [H, W]
        if grey.shape[0] >= 3 and grey.shape[1] >= 3:
            gx = (grey[:-2, 2:] + 2 * grey[1:-1, 2:] + grey[2:, 2:]) - (
                grey[:-2, :-2] + 2 * grey[1:-1, :-2] + grey[2:, :-2]
            )
            gy = (grey[2:, :-2] + 2 * grey[2:, 1:-1] + grey[2:, 2:]) - (
                grey[:-2, :-2] + 2 * grey[:-2, 1:-1] + grey[:-2, 2:]
            )
            mag = np.hypot(gx, gy) / (4 * math.sqrt(2))
            lap = 255.0 * (
                grey[:-2, 1:-1]
                + grey[2:, 1:-1]
                + grey[1:-1, :-2]
                + grey[1:-1, 2:]
                - 4 * grey[1:-1, 1:-1]
            )
            angle = np.arctan2(gy, gx) % np.pi
            orient = np.histogram(angle, bins=8, range=(0.0, np.pi), weights=mag)[0]
            total = orient.sum()
            orient = orient / total if total > 0 else orient
            edges = [mag.mean(), mag.std(), (mag > 0.1).mean(), math.log1p(lap.var()) / 10.0]
        else:
            edges, orient = [0.0, 0.0, 0.0, 0.0], np.zeros(8)
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        rg, yb = r - g, 0.5 * (r + g) - b
        colourfulness = math.hypot(rg.std(), yb.std()) + 0.3 * math.hypot(rg.mean(), yb.mean())
        return np.concatenate([colour, edges, orient, [colourfulness, math.log(width / height)]])


# --------------------------------------------------------------------------- audio


def mel_filterbank(
    n_mels: int, n_fft: int, sample_rate: int, fmin: float = 0.0, fmax: float | None = None
) -> np.ndarray:
    """Triangular filters on the HTK mel scale ``m = 2595 log10(1 + f / 700)``, peak 1;
    ``[n_mels, n_fft // 2 + 1]``."""
    fmax = sample_rate / 2 if fmax is None else fmax
    mel = np.linspace(2595 * np.log10(1 + fmin / 700), 2595 * np.log10(1 + fmax / 700), n_mels + 2)
    hz = 700 * (10 ** (mel / 2595) - 1)  # [n_mels + 2] band edges
    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    lower, centre, upper = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up = (freqs[None] - lower) / np.maximum(centre - lower, _EPS)
    down = (upper - freqs[None]) / np.maximum(upper - centre, _EPS)
    return np.clip(np.minimum(up, down), 0.0, None)


class HandcraftedAudioConfig(EncoderConfig):
    """25 ms Hann frames (``n_fft = 0.025 * rate`` samples), 10 ms hop; ``n_mels`` HTK mel
    bands from 0 Hz to Nyquist. Output dimension ``2 * n_mels + 13`` (93 by default).
    ``sample_rate`` / ``max_seconds``: how the feature pipeline reads the audio
    (:func:`sensorec.media.load_audio`); the features use whatever rate the input has."""

    n_mels: int = 40
    sample_rate: int = 16000
    max_seconds: float | None = None


@ENCODERS.register("handcrafted-audio")
class HandcraftedAudioEncoder(_Handcrafted):
    """Log-mel and signal statistics per clip (``M = n_mels``).

    ``[0:M]`` mean and ``[M:2M]`` std over frames of the log-mel energies (dB / 100);
    then, each as mean and std over frames: RMS, zero-crossing rate, spectral centroid and
    85 % roll-off (both / Nyquist), onset strength (summed positive log-mel change, dB / 100);
    then tempo: the onset autocorrelation peak between 40 and 240 BPM as ``bpm / 240`` and
    its normalised height (both 0 for clips under 1.5 s); last ``log(1 + duration in s)``.
    """

    name = "handcrafted-audio"
    modality = "audio"
    config_class = HandcraftedAudioConfig

    @property
    def dim(self) -> int:
        return 2 * self.config.n_mels + 13

    def _check(self, batch: Sequence[Any]) -> list[Any]:
        return check_audio(batch)

    def _item(self, audio: Any) -> np.ndarray:
        sr = int(audio.sample_rate)
        x = audio.waveform.astype(np.float64)
        n_fft = max(16, round(0.025 * sr))
        hop = max(1, round(0.010 * sr))
        if len(x) < n_fft:
            x = np.pad(x, (0, n_fft - len(x)))
        frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop]  # [F, n_fft]
        power = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1)) ** 2  # [F, n_fft/2+1]
        fb = mel_filterbank(self.config.n_mels, n_fft, sr)
        logmel = 10 * np.log10(power @ fb.T + _EPS) / 100.0  # [F, M]
        rms = np.sqrt((frames**2).mean(1))
        zcr = (np.abs(np.diff(np.signbit(frames).astype(np.int8), axis=1)) > 0).mean(1)
        freqs = np.linspace(0, sr / 2, power.shape[1])
        total = power.sum(1)
        centroid = np.where(total > 0, (power * freqs).sum(1) / np.maximum(total, _EPS), 0.0) / (
            sr / 2
        )
        cum = np.cumsum(power, axis=1)
        rolloff = freqs[np.minimum((cum < 0.85 * cum[:, -1:]).sum(1), len(freqs) - 1)] / (sr / 2)
        onset = np.maximum(np.diff(logmel, axis=0), 0.0).sum(1) if len(logmel) > 1 else np.zeros(1)
        tempo = self._tempo(onset, frames_per_second=sr / hop)
        stats = [np.array([v.mean(), v.std()]) for v in (rms, zcr, centroid, rolloff, onset)]
        return np.concatenate(
            [logmel.mean(0), logmel.std(0), *stats, tempo, [math.log1p(audio.duration)]]
        )

    @staticmethod
    def _tempo(onset: np.ndarray, frames_per_second: float) -> np.ndarray:
        lo = round(60.0 / 240.0 * frames_per_second)
        hi = round(60.0 / 40.0 * frames_per_second)
        if len(onset) <= hi:
            return np.zeros(2)
        o = onset - onset.mean()
        ac = np.correlate(o, o, mode="full")[len(o) - 1 :]  # [F], lag 0 first
        if ac[0] <= 0:
            return np.zeros(2)
        lag = lo + int(np.argmax(ac[lo : hi + 1]))
        bpm = 60.0 * frames_per_second / lag
        return np.array([bpm / 240.0, ac[lag] / ac[0]])


# --------------------------------------------------------------------------- video


_VIDEO_MAX_SIDE = 128


class HandcraftedVideoConfig(EncoderConfig):
    """``n_frames``, ``fps``, ``size``: how the feature pipeline samples frames
    (:func:`sensorec.media.load_video`). Larger frames are subsampled by a stride so their
    longer side is at most 128 pixels before the statistics."""

    n_frames: int = 8
    fps: float | None = None
    size: int | None = 64


@ENCODERS.register("handcrafted-video")
class HandcraftedVideoEncoder(_Handcrafted):
    """49 colour and motion statistics per video.

    ``[0:42]`` :func:`colour_features` over all pixels of all sampled frames. Motion, from
    grey frames in [0, 1] (all 0 for a single frame): ``[42]`` mean, ``[43]`` std and ``[44]``
    max over consecutive frame pairs of the pair's mean absolute difference; ``[45]`` mean
    fraction of pixels changing by more than 0.1; ``[46]`` std over time of the mean
    brightness; ``[47]`` fraction of pairs whose mean difference exceeds 0.25 (cuts).
    ``[48]`` ``log(1 + duration in s)``.
    """

    name = "handcrafted-video"
    modality = "video"
    config_class = HandcraftedVideoConfig
    DIM = 49

    @property
    def dim(self) -> int:
        return self.DIM

    def _check(self, batch: Sequence[Any]) -> list[Any]:
        return check_videos(batch)

    def _item(self, video: Any) -> np.ndarray:
        frames = video.frames
        step = max(1, math.ceil(max(frames.shape[1], frames.shape[2]) / _VIDEO_MAX_SIDE))
        rgb = frames[:, ::step, ::step].astype(np.float64) / 255.0  # [T, h, w, 3]
        colour = colour_features(rgb.reshape(-1, 3))
        grey = _grey(rgb)  # [T, h, w]
        if len(grey) > 1:
            diff = np.abs(np.diff(grey, axis=0))  # [T-1, h, w]
            per_pair = diff.reshape(len(diff), -1).mean(1)
            motion = [
                per_pair.mean(),
                per_pair.std(),
                per_pair.max(),
                (diff > 0.1).mean(),
                grey.reshape(len(grey), -1).mean(1).std(),
                (per_pair > 0.25).mean(),
            ]
        else:
            motion = [0.0] * 6
        return np.concatenate([colour, motion, [math.log1p(video.duration)]])
