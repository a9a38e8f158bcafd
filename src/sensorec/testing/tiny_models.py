"""Tiny random Hugging Face models for tests (CLIP, ViT, Whisper, BERT) and a tiny tokenizer.

Each ``save_tiny_*`` writes a directory that the pretrained encoders load exactly as they
load real weights (``model=<directory>``), offline, in milliseconds: hidden size 32, two
layers, plus the processor / tokenizer files. Weights are drawn from ``seed`` inside
``torch.random.fork_rng`` (the caller's global RNG state is left as it was), so the same seed
writes the same weights.

Requires ``transformers``.
"""

from __future__ import annotations

import contextlib
import string
from collections.abc import Iterator
from pathlib import Path

import torch

HIDDEN = 32
LAYERS = 2
HEADS = 2

_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_WORDS = (
    "the a an and or of to in on for with is are was be it this that by from at as "
    "movie film story love war man woman life world new time day night family house city "
    "red blue green black white dark light music song dance comedy drama action horror "
    "cat dog car space star king queen game death dream girl boy friend murder island"
).split()
PAD_ID, UNK_ID, CLS_ID, SEP_ID = 0, 1, 2, 3


def tiny_vocabulary() -> list[str]:
    """Special tokens, letters, digits, ``##`` letter pieces and some common words: every
    lower-case ASCII word can be spelled, so different texts get different ids."""
    pieces = list(string.ascii_lowercase + string.digits)
    return _SPECIALS + pieces + [f"##{c}" for c in pieces] + list(string.punctuation) + _WORDS


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def save_tiny_tokenizer(path: str | Path, model_max_length: int = 64) -> Path:
    """Write a WordPiece (BERT-style, lower-casing) tokenizer over :func:`tiny_vocabulary`."""
    # transformers 5 keeps BertTokenizerFast as a lazily exported alias of BertTokenizer that
    # its typed __init__ does not list; 4.x exports it normally.
    from transformers import BertTokenizerFast  # type: ignore[attr-defined]

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    vocab_file = path / "vocab.txt"
    vocab_file.write_text("\n".join(tiny_vocabulary()) + "\n", encoding="utf-8")
    try:  # transformers >= 5 takes `vocab`, 4.x `vocab_file`
        tok = BertTokenizerFast(
            vocab=str(vocab_file), do_lower_case=True, model_max_length=model_max_length
        )
    except TypeError:
        tok = BertTokenizerFast(
            vocab_file=str(vocab_file), do_lower_case=True, model_max_length=model_max_length
        )
    tok.save_pretrained(path)
    return path


def _pil_processor(name: str):
    import transformers

    return getattr(transformers, f"{name}ImageProcessorPil", None) or getattr(
        transformers, f"{name}ImageProcessor"
    )


def save_tiny_clip(
    path: str | Path, seed: int = 0, image_size: int = 32, projection_dim: int = 16
) -> Path:
    """CLIP (text + vision towers) with its image processor and :func:`save_tiny_tokenizer`
    in the same directory (usable by ``clip``, ``clip-text`` and ``clip-frames``)."""
    from transformers import CLIPConfig, CLIPModel

    path = Path(path)
    n_vocab = len(tiny_vocabulary())
    config = CLIPConfig(
        text_config={
            "hidden_size": HIDDEN,
            "intermediate_size": 2 * HIDDEN,
            "num_hidden_layers": LAYERS,
            "num_attention_heads": HEADS,
            "vocab_size": n_vocab,
            "max_position_embeddings": 64,
            "pad_token_id": PAD_ID,
            "bos_token_id": CLS_ID,
            "eos_token_id": SEP_ID,
        },
        vision_config={
            "hidden_size": HIDDEN,
            "intermediate_size": 2 * HIDDEN,
            "num_hidden_layers": LAYERS,
            "num_attention_heads": HEADS,
            "image_size": image_size,
            "patch_size": 8,
        },
        projection_dim=projection_dim,
    )
    with _seeded(seed):
        model = CLIPModel(config).eval()
    model.save_pretrained(path)
    processor = _pil_processor("CLIP")(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    )
    processor.save_pretrained(path)
    save_tiny_tokenizer(path)
    return path


def save_tiny_vit(path: str | Path, seed: int = 0, image_size: int = 32) -> Path:
    """ViT with its image processor."""
    from transformers import ViTConfig, ViTModel

    path = Path(path)
    config = ViTConfig(
        hidden_size=HIDDEN,
        intermediate_size=2 * HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        image_size=image_size,
        patch_size=8,
    )
    with _seeded(seed):
        model = ViTModel(config).eval()
    model.save_pretrained(path)
    _pil_processor("ViT")(size={"height": image_size, "width": image_size}).save_pretrained(path)
    return path


def save_tiny_whisper(
    path: str | Path, seed: int = 0, window_seconds: int = 2, n_mels: int = 80
) -> Path:
    """Whisper with a ``window_seconds`` window (real models: 30 s) and its feature extractor
    (16 kHz, 10 ms hop, so ``max_source_positions = 50 * window_seconds``)."""
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

    path = Path(path)
    config = WhisperConfig(
        d_model=HIDDEN,
        encoder_layers=LAYERS,
        decoder_layers=LAYERS,
        encoder_attention_heads=HEADS,
        decoder_attention_heads=HEADS,
        encoder_ffn_dim=2 * HIDDEN,
        decoder_ffn_dim=2 * HIDDEN,
        num_mel_bins=n_mels,
        vocab_size=64,
        max_source_positions=50 * window_seconds,
        max_target_positions=32,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=1,
        suppress_tokens=[],
        begin_suppress_tokens=[],
    )
    with _seeded(seed):
        model = WhisperModel(config).eval()
    model.save_pretrained(path)
    WhisperFeatureExtractor(feature_size=n_mels, chunk_length=window_seconds).save_pretrained(path)
    return path


def save_tiny_bert(path: str | Path, seed: int = 0) -> Path:
    """BERT encoder with :func:`save_tiny_tokenizer` (for ``hf-text``)."""
    from transformers import BertConfig, BertModel

    path = Path(path)
    config = BertConfig(
        vocab_size=len(tiny_vocabulary()),
        hidden_size=HIDDEN,
        intermediate_size=2 * HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        max_position_embeddings=64,
        pad_token_id=PAD_ID,
    )
    with _seeded(seed):
        model = BertModel(config).eval()
    model.save_pretrained(path)
    save_tiny_tokenizer(path)
    return path
