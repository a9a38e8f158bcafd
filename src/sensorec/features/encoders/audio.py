"""Audio encoder: the Whisper encoder (``whisper``). Input: one
:class:`sensorec.media.Audio` per item (see :func:`sensorec.media.load_audio`).

Whisper's encoder sees fixed windows of ``2 * max_source_positions`` log-mel frames (30 s,
3000 frames -> 1500 encoder frames for the released models); shorter audio is zero-padded.
The embedding of a window is the mean of the encoder frames that hold audio (the first
``ceil(samples / hop_length / 2)``), not of the padding. Longer audio is cut into consecutive
windows (at most ``max_windows``); ``windows="mean"`` averages all its audio frames (windows
weighted by how much audio they hold), ``windows="first"`` keeps only the first window.
Audio after ``max_seconds`` is ignored (the feature pipeline also passes ``max_seconds`` and
``sample_rate`` of the config to :func:`sensorec.media.load_audio`, so it is not decoded).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch

from sensorec.features.base import ENCODERS
from sensorec.features.encoders._pretrained import (
    PretrainedEncoder,
    PretrainedEncoderConfig,
    batches,
    l2_normalize,
    load_pretrained,
)
from sensorec.media.audio import Audio, resample_audio

logger = logging.getLogger("sensorec.features")


def check_audio(batch: Sequence[Any]) -> list[Audio]:
    items = list(batch)
    for k, a in enumerate(items):
        if not isinstance(a, Audio):
            raise TypeError(
                f"audio encoder input {k} is a {type(a).__name__}, expected sensorec.media.Audio"
            )
        if a.waveform.ndim != 1 or a.waveform.size == 0:
            raise ValueError(
                f"audio encoder input {k}: waveform must be 1-D and non-empty, got shape {a.waveform.shape}"
            )
    return items


class WhisperAudioConfig(PretrainedEncoderConfig):
    """Whisper encoder features ``[B, d_model]`` (384 for tiny, 512 base, 768 small).

    ``windows`` and ``max_seconds``: how long audio is used (module docstring).
    ``sample_rate``: the rate audio is read at (Whisper wants 16 kHz; other rates are
    resampled inside the encoder).
    """

    model: str = "openai/whisper-tiny"
    windows: Literal["mean", "first"] = "mean"
    max_seconds: float | None = 120.0
    sample_rate: int = 16000
    normalize: bool = False


@ENCODERS.register("whisper")
class WhisperAudioEncoder(PretrainedEncoder[WhisperAudioConfig]):
    """Mean-pooled Whisper encoder states over the frames that hold audio."""

    name = "whisper"
    modality = "audio"
    config_class = WhisperAudioConfig

    def __init__(self, config: WhisperAudioConfig) -> None:
        super().__init__(config)
        if config.max_seconds is not None and config.max_seconds <= 0:
            raise ValueError(f"max_seconds must be positive or None, got {config.max_seconds}")
        from transformers import WhisperFeatureExtractor, WhisperModel

        model = load_pretrained(
            WhisperModel.from_pretrained, config.model, config.revision, "Whisper model"
        )
        self.encoder = model.get_encoder().to(self.device).eval()
        mcfg = model.config
        try:
            self.extractor = load_pretrained(
                WhisperFeatureExtractor.from_pretrained,
                config.model,
                config.revision,
                "Whisper feature extractor",
            )
        except Exception as exc:
            self.extractor = WhisperFeatureExtractor(feature_size=mcfg.num_mel_bins)
            logger.warning(
                "%s: no feature extractor found (%s); using the Whisper defaults",
                config.model,
                exc.__cause__ or exc,
            )
        if self.extractor.feature_size != mcfg.num_mel_bins:
            raise ValueError(
                f"{config.model}: feature extractor makes {self.extractor.feature_size} mel bins, "
                f"the model expects {mcfg.num_mel_bins}"
            )
        self.sample_rate = int(self.extractor.sampling_rate)
        self.hop_length = int(self.extractor.hop_length)
        self.mel_frames = 2 * int(mcfg.max_source_positions)  # encoder input length
        self.window_samples = self.mel_frames * self.hop_length
        self.encoder_frames = int(mcfg.max_source_positions)
        self._dim = int(mcfg.d_model)

    @property
    def dim(self) -> int:
        return self._dim

    def _windows(self, audio: Audio) -> list[np.ndarray]:
        wave = resample_audio(audio, self.sample_rate).waveform
        if self.config.max_seconds is not None:
            wave = wave[: max(1, round(self.config.max_seconds * self.sample_rate))]
        n_windows = max(1, math.ceil(len(wave) / self.window_samples))
        if self.config.windows == "first":
            n_windows = 1
        return [
            wave[k * self.window_samples : (k + 1) * self.window_samples] for k in range(n_windows)
        ]

    def encode(self, batch: Sequence[Audio]) -> np.ndarray:
        """``B`` audio clips -> float32 ``[B, d_model]``."""
        items = check_audio(batch)
        windows: list[np.ndarray] = []
        owner: list[int] = []
        for k, audio in enumerate(items):
            for w in self._windows(audio):
                windows.append(w)
                owner.append(k)
        if not windows:
            return np.zeros((0, self.dim), np.float32)
        sums = torch.zeros(len(items), self.dim, dtype=torch.float64)
        counts = torch.zeros(len(items), dtype=torch.float64)
        order = list(range(len(windows)))
        with torch.inference_mode():
            for chunk in batches(order, self.config.batch_size):
                feats = self.extractor(
                    [windows[j] for j in chunk],
                    sampling_rate=self.sample_rate,
                    padding="max_length",
                    max_length=self.window_samples,
                    truncation=True,
                    return_tensors="np",
                )["input_features"]  # [b, n_mels, mel_frames]
                x = torch.from_numpy(np.asarray(feats, np.float32)).to(self.device)
                hidden = self.encoder(x).last_hidden_state.float().cpu()  # [b, encoder_frames, D]
                for row, j in enumerate(chunk):
                    valid = min(
                        self.encoder_frames,
                        max(1, math.ceil(len(windows[j]) / self.hop_length / 2)),
                    )
                    sums[owner[j]] += hidden[row, :valid].double().sum(0)
                    counts[owner[j]] += valid
        pooled = (sums / counts[:, None]).float()  # [B, D]
        if self.config.normalize:
            pooled = l2_normalize(pooled)
        return pooled.numpy()
