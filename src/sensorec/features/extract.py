"""Feature extraction: content manifest + encoder -> :class:`FeatureStore`, resumably.

:func:`extract_features` reads each item's input (text as it is; images with
:func:`sensorec.media.load_image`; audio with :func:`~sensorec.media.load_audio`; video with
:func:`~sensorec.media.load_video`), scores its quality, encodes the items that could be read
in batches of ``encoder.config.batch_size``, and writes results in chunks of ``chunk_size``
items to ``out_dir/.partial/chunk_00000.npz``, ... (each written atomically). An interrupted
run (exception, Ctrl-C, killed process) resumes from the last complete chunk, and the final
store is byte-identical to that of an uninterrupted run, because batches never cross chunk
boundaries. Chunks are only reused when the encoder fingerprint, media options, content
hash, item list and chunk size all match; otherwise the run starts over with a warning.

An item that cannot be used is masked, with a reason that the store's manifest counts; the
run never stops for it:

- ``not_in_manifest``: the requested item is not in the content manifest;
- ``no_content``: the manifest has nothing for this modality (or a reason it recorded, such
  as ``download_failed`` or ``no_file``);
- ``not_downloaded``: the location is a URL and nobody asked for downloads
  (pass ``download_dir=`` or call :meth:`ContentManifest.fetch`);
- ``empty_text``: the text is only whitespace;
- ``missing``, ``empty``, ``corrupt``, ``no_audio_stream``, ``no_video_stream``,
  ``unsupported``: from :class:`sensorec.media.MediaError`;
- ``load_error``: the media reader failed in an unexpected way (logged with the error);
- ``nan_features``: the encoder returned NaN or inf for the item.

For the audio modality, an item without an audio file but with a video uses the video's
soundtrack (so a trailer without sound is masked as ``no_audio_stream``).

Quality scores (in ``[0, 1]``, 0 when masked): text ``min(1, words / 32)`` (a title alone
scores about 0.2, a title with a plot 1); images, audio and video use
:func:`~sensorec.media.image_quality`, :func:`~sensorec.media.audio_quality` and
:func:`~sensorec.media.video_quality`.

The content hash is the sha256 over ``[item_id, item_hash]`` pairs in row order, where an
item's hash is the sha256 of its text, the sha256 of its media file's bytes, or
``missing:<reason>``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sensorec.content.manifest import (
    EMPTY_TEXT,
    NOT_DOWNLOADED,
    NOT_IN_MANIFEST,
    ContentManifest,
    ItemId,
    is_url,
    normalize_item_id,
)
from sensorec.features.base import MODALITIES, Encoder
from sensorec.features.store import (
    MANIFEST_FILE,
    FeatureStore,
    StoreError,
    atomic_write,
    file_sha256,
    json_hash,
    sanitize_rows,
)

logger = logging.getLogger("sensorec.features")

PARTIAL_DIR = ".partial"
STATE_FILE = "state.json"
LOAD_ERROR = "load_error"
#: Words at which the text quality score reaches 1.
TEXT_QUALITY_WORDS = 32


def text_quality(text: str) -> float:
    """``min(1, words / 32)``: a bare title scores low, a title with a plot scores 1."""
    return min(1.0, len(text.split()) / TEXT_QUALITY_WORDS)


@dataclass(frozen=True)
class _Input:
    """Where one item's input comes from: ``text`` (literal), ``path``, or ``reason``."""

    item_id: ItemId
    text: str | None = None
    path: str | None = None
    reason: str | None = None

    def hash(self) -> str:
        if self.text is not None:
            return "text:" + hashlib.sha256(self.text.encode("utf-8")).hexdigest()
        if self.path is not None:
            try:
                return "file:" + file_sha256(self.path)
            except OSError:
                return "unreadable:" + self.path  # the loader will report why
        return f"missing:{self.reason}"


def plan_inputs(
    manifest: ContentManifest, modality: str, item_ids: Sequence[ItemId]
) -> list[_Input]:
    """Decide, per item, what will be read (see the module docstring for the reasons)."""
    out = []
    for item_id in item_ids:
        item = manifest.get(item_id)
        if item is None:
            out.append(_Input(item_id, reason=NOT_IN_MANIFEST))
            continue
        if modality == "text":
            if item.text is None:
                out.append(_Input(item_id, reason=item.missing_reason("text")))
            elif not item.text.strip():
                out.append(_Input(item_id, reason=EMPTY_TEXT))
            else:
                out.append(_Input(item_id, text=item.text))
            continue
        location = item.source(modality)
        reason = item.missing_reason(modality)
        if location is None and modality == "audio" and item.video is not None:
            location = item.video  # the video's soundtrack
        if location is None:
            out.append(_Input(item_id, reason=reason))
        elif is_url(location):
            out.append(_Input(item_id, reason=NOT_DOWNLOADED))
        else:
            out.append(_Input(item_id, path=location))
    return out


def content_hash(inputs: Sequence[_Input], item_hashes: Sequence[str] | None = None) -> str:
    """sha256 over ``[item_id, item_hash]`` pairs in order."""
    hashes = item_hashes if item_hashes is not None else [i.hash() for i in inputs]
    return json_hash([[i.item_id, h] for i, h in zip(inputs, hashes, strict=True)])


def media_options_for(
    modality: str, encoder: Encoder[Any], overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Keyword options for the modality's media loader.

    Taken from the encoder config where it has a field of the same name as a loader
    parameter (e.g. ``sample_rate``, ``n_frames``), then from ``overrides``.
    """
    loader = _loader(modality)
    if loader is None:
        if overrides:
            raise ValueError(f"media options {sorted(overrides)} given for modality {modality!r}")
        return {}
    params = [p for p in inspect.signature(loader).parameters if p != "path"]
    opts = {p: getattr(encoder.config, p) for p in params if hasattr(encoder.config, p)}
    for key, value in (overrides or {}).items():
        if key not in params:
            raise ValueError(f"unknown media option {key!r} for {modality}; known: {params}")
        opts[key] = value
    return opts


def _loader(modality: str) -> Callable[..., Any] | None:
    if modality == "text":
        return None
    from sensorec import media

    loaders: dict[str, Callable[..., Any]] = {
        "image": media.load_image,
        "audio": media.load_audio,
        "video": media.load_video,
    }
    return loaders[modality]


def _quality_fn(modality: str) -> Callable[[Any], float]:
    if modality == "text":
        return text_quality
    from sensorec import media

    scores: dict[str, Callable[[Any], float]] = {
        "image": media.image_quality,
        "audio": media.audio_quality,
        "video": media.video_quality,
    }
    return scores[modality]


def extract_features(
    manifest: ContentManifest,
    modality: str,
    encoder: Encoder[Any],
    out_dir: str | Path,
    *,
    item_ids: Iterable[ItemId] | None = None,
    chunk_size: int = 256,
    resume: bool = True,
    progress: bool = True,
    media_options: Mapping[str, Any] | None = None,
    download_dir: str | Path | None = None,
    force: bool = False,
) -> FeatureStore:
    """Encode one modality of every item into a feature store at ``out_dir``.

    Args:
        manifest: where each item's content is.
        modality: ``text``, ``image``, ``audio`` or ``video``; must be the encoder's.
        encoder: any :class:`~sensorec.features.base.Encoder`.
        out_dir: the store directory.
        item_ids: the items, in row order (default: the manifest's items). Items absent
            from the manifest are kept and masked (``not_in_manifest``).
        chunk_size: items per resumable chunk.
        resume: reuse complete chunks of an earlier interrupted run (when they were made by
            the same encoder from the same content); ``False`` discards them.
        progress: show a progress bar.
        media_options: loader options (e.g. ``{"n_frames": 16}``), overriding those taken
            from the encoder config (see :func:`media_options_for`).
        download_dir: download URL media there first (:meth:`ContentManifest.fetch`).
        force: recompute even when ``out_dir`` already holds an up-to-date store.

    Returns:
        The opened store: ``features`` [N, D], ``mask`` [N], ``quality`` [N].
    """
    if modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}; use one of {MODALITIES}")
    if encoder.modality != modality:
        raise ValueError(f"encoder {encoder.name!r} encodes {encoder.modality}, not {modality}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    out_dir = Path(out_dir)
    if download_dir is not None and modality != "text":
        wanted = (modality, "video") if modality == "audio" else (modality,)
        manifest = manifest.fetch(download_dir, modalities=wanted, progress=progress)

    ids = [normalize_item_id(i) for i in (manifest.item_ids if item_ids is None else item_ids)]
    if len(set(ids)) != len(ids):
        raise ValueError("item_ids holds duplicates")
    opts = media_options_for(modality, encoder, media_options)
    inputs = plan_inputs(manifest, modality, ids)
    from sensorec.utils import progress as progress_bar

    item_hashes = [
        i.hash()
        for i in progress_bar(inputs, desc="hash inputs", total=len(inputs), enabled=progress)
    ]
    fingerprint = encoder.fingerprint()
    c_hash = content_hash(inputs, item_hashes)
    dim = int(encoder.dim)
    state = {
        "modality": modality,
        "encoder": json_hash(fingerprint),
        "inputs": opts,
        "content_hash": c_hash,
        "item_ids": json_hash(ids),
        "chunk_size": chunk_size,
        "dim": dim,
    }
    state_hash = json_hash(state)

    if not force:
        existing = _up_to_date(out_dir, modality, fingerprint, opts, c_hash, ids)
        if existing is not None:
            logger.info(
                "%s is up to date (manifest %s); not recomputed",
                out_dir,
                existing.manifest_hash[:12],
            )
            return existing

    out_dir.mkdir(parents=True, exist_ok=True)
    partial = out_dir / PARTIAL_DIR
    n_done = _prepare_partial(partial, state, state_hash, resume, len(ids), chunk_size, dim)
    starts = list(range(0, len(ids), chunk_size))
    if n_done:
        logger.info("resuming %s: %d of %d chunks already done", out_dir, n_done, len(starts))

    loader = _loader(modality)
    quality_fn = _quality_fn(modality)
    todo = sum(min(chunk_size, len(ids) - s) for s in starts[n_done:])
    bar = progress_bar(
        _count(todo), desc=f"encode {modality} ({encoder.name})", total=todo, enabled=progress
    )
    for index in range(n_done, len(starts)):
        start = starts[index]
        chunk_inputs = inputs[start : start + chunk_size]
        feats, mask, quality, reasons = _encode_chunk(
            chunk_inputs, encoder, dim, loader, opts, quality_fn, bar
        )
        _write_chunk(partial / _chunk_name(index), state_hash, start, feats, mask, quality, reasons)
    for _ in bar:  # close the progress bar
        pass

    feats_all, mask_all, quality_all, reasons_all = _gather(partial, len(starts), len(ids), dim)
    store = FeatureStore.write(
        out_dir,
        modality=modality,
        item_ids=ids,
        features=feats_all,
        mask=mask_all,
        quality=quality_all,
        reasons={ids[r]: reason for r, reason in reasons_all.items()},
        encoder=fingerprint,
        content_hash=c_hash,
        inputs=opts,
    )
    shutil.rmtree(partial, ignore_errors=True)
    counts = ", ".join(f"{r}={n}" for r, n in store.missing_counts.items()) or "none"
    logger.info(
        "wrote %s: %d items, %d with features, dim %d; missing: %s",
        out_dir,
        store.n_items,
        store.n_available,
        store.dim,
        counts,
    )
    return store


def _count(n: int) -> Iterator[int]:
    yield from range(n)


def _up_to_date(
    out_dir: Path,
    modality: str,
    fingerprint: Mapping[str, Any],
    opts: Mapping[str, Any],
    c_hash: str,
    ids: list[ItemId],
) -> FeatureStore | None:
    if not (out_dir / MANIFEST_FILE).is_file():
        return None
    try:
        store = FeatureStore.open(out_dir)
    except StoreError as exc:
        logger.warning("existing store in %s is unusable (%s); it will be replaced", out_dir, exc)
        return None
    same = (
        store.modality == modality
        and json_hash(store.encoder) == json_hash(dict(fingerprint))
        and json_hash(store.manifest.get("inputs", {})) == json_hash(dict(opts))
        and store.content_hash == c_hash
        and store.item_ids == ids
    )
    if not same:
        logger.warning("%s holds a store made differently; it will be replaced", out_dir)
        return None
    return store


def _chunk_name(index: int) -> str:
    return f"chunk_{index:05d}.npz"


def _prepare_partial(
    partial: Path,
    state: dict[str, Any],
    state_hash: str,
    resume: bool,
    n: int,
    chunk: int,
    dim: int,
) -> int:
    """Make ``partial`` hold only chunks valid for ``state``; return how many are done."""
    state_path = partial / STATE_FILE
    if partial.exists():
        old_hash = None
        try:
            old_hash = json.loads(state_path.read_text())["state_hash"]
        except (OSError, ValueError, KeyError):
            pass
        if not resume:
            logger.info("discarding partial results in %s (resume=False)", partial)
            shutil.rmtree(partial)
        elif old_hash != state_hash:
            logger.warning(
                "partial results in %s were made by a different encoder, content, item list or "
                "chunk size; starting over",
                partial,
            )
            shutil.rmtree(partial)
    partial.mkdir(parents=True, exist_ok=True)
    if not state_path.exists():
        data = (
            json.dumps({"state_hash": state_hash, "state": state}, indent=1, default=str) + "\n"
        ).encode()
        atomic_write(state_path, lambda fh: fh.write(data))
    n_chunks = (n + chunk - 1) // chunk
    done = 0
    while done < n_chunks:
        start = done * chunk
        rows = min(chunk, n - start)
        if not _chunk_ok(partial / _chunk_name(done), state_hash, start, rows, dim):
            break
        done += 1
    for stale in partial.glob("chunk_*.npz"):
        try:
            index = int(stale.stem.split("_")[1])
        except (IndexError, ValueError):
            index = -1
        if index < 0 or index >= done:
            stale.unlink()
    for tmp in partial.glob(".*.tmp"):
        tmp.unlink()
    return done


def _chunk_ok(path: Path, state_hash: str, start: int, rows: int, dim: int) -> bool:
    if not path.is_file():
        return False
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            ok = (
                meta["state_hash"] == state_hash
                and meta["start"] == start
                and data["features"].shape == (rows, dim)
                and data["mask"].shape == (rows,)
                and data["quality"].shape == (rows,)
            )
    except Exception as exc:  # unreadable (truncated, not a zip, missing keys): redo it
        logger.warning("chunk %s is unreadable (%r); recomputing from it", path.name, exc)
        return False
    if not ok:
        logger.warning("chunk %s does not belong to this run; recomputing from it", path.name)
    return bool(ok)


def _encode_chunk(
    inputs: Sequence[_Input],
    encoder: Encoder[Any],
    dim: int,
    loader: Callable[..., Any] | None,
    opts: Mapping[str, Any],
    quality_fn: Callable[[Any], float],
    bar: Iterator[int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, str]]:
    """Read, score and encode one chunk. Returns features [n, D], mask [n], quality [n],
    reasons {row: reason}."""
    from sensorec.media import MediaError

    n = len(inputs)
    feats = np.zeros((n, dim), dtype=np.float32)
    mask = np.zeros(n, dtype=bool)
    quality = np.zeros(n, dtype=np.float32)
    reasons: dict[int, str] = {}
    batch_rows: list[int] = []
    batch: list[Any] = []
    batch_size = max(1, int(getattr(encoder.config, "batch_size", 32)))
    if loader is None:
        # Text needs no reading: hand the whole chunk to the encoder, which batches inside
        # (sentence-transformers then sorts by length, so batches pad less).
        batch_size = max(1, n)

    def flush() -> None:
        if not batch:
            return
        out = np.asarray(encoder.encode(batch), dtype=np.float32)
        if out.shape != (len(batch), dim):
            raise RuntimeError(
                f"encoder {encoder.name!r} returned shape {list(out.shape)} for a batch of "
                f"{len(batch)}; expected [{len(batch)}, {dim}]"
            )
        feats[batch_rows] = out
        mask[batch_rows] = True
        batch_rows.clear()
        batch.clear()

    for row, item in enumerate(inputs):
        next(bar, None)
        if item.reason is not None:
            reasons[row] = item.reason
            continue
        if item.text is not None:
            value: Any = item.text
        else:
            assert loader is not None and item.path is not None
            try:
                value = loader(item.path, **opts)
            except MediaError as exc:
                reasons[row] = exc.reason
                logger.debug("item %r: %s", item.item_id, exc)
                continue
            except Exception as exc:  # a reader bug must not stop a long run: count it
                reasons[row] = LOAD_ERROR
                logger.warning(
                    "item %r: unexpected error reading %s: %r", item.item_id, item.path, exc
                )
                continue
        try:
            quality[row] = float(quality_fn(value))
        except Exception as exc:
            logger.warning("item %r: quality score failed (%r); set to 0", item.item_id, exc)
            quality[row] = 0.0
        batch_rows.append(row)
        batch.append(value)
        if len(batch) >= batch_size:
            flush()
    flush()
    feats, mask, n_nan = sanitize_rows(feats, mask, reasons)
    if n_nan:
        logger.warning("%d item(s) got NaN/inf features; masked as 'nan_features'", n_nan)
    quality[~mask] = 0.0
    return feats, mask, quality, reasons


def _write_chunk(
    path: Path,
    state_hash: str,
    start: int,
    feats: np.ndarray,
    mask: np.ndarray,
    quality: np.ndarray,
    reasons: dict[int, str],
) -> None:
    meta = json.dumps({"state_hash": state_hash, "start": start})
    reason_json = json.dumps(sorted([int(r), s] for r, s in reasons.items()))

    def write(fh: Any) -> None:
        np.savez(
            fh,
            features=feats,
            mask=mask,
            quality=quality,
            reasons=np.array(reason_json),
            meta=np.array(meta),
        )

    atomic_write(path, write)


def _gather(
    partial: Path, n_chunks: int, n: int, dim: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, str]]:
    feats = np.zeros((n, dim), dtype=np.float32)
    mask = np.zeros(n, dtype=bool)
    quality = np.zeros(n, dtype=np.float32)
    reasons: dict[int, str] = {}
    for index in range(n_chunks):
        with np.load(partial / _chunk_name(index), allow_pickle=False) as data:
            start = int(json.loads(str(data["meta"]))["start"])
            rows = data["mask"].shape[0]
            feats[start : start + rows] = data["features"]
            mask[start : start + rows] = data["mask"]
            quality[start : start + rows] = data["quality"]
            for row, reason in json.loads(str(data["reasons"])):
                reasons[start + int(row)] = reason
    return feats, mask, quality, reasons
