"""The feature store: one modality, one encoder, item-keyed, versioned, written atomically.

A store is a directory::

    features.npy    float32 [N, D], opened memory-mapped; rows of missing items are zeros
    item_ids.json   the N raw item ids (int or str), in row order
    mask.npy        bool [N], True where the item has features
    quality.npy     float32 [N] in [0, 1], 0 for missing items
    missing.json    {"reasons": [[item_id, reason], ...]} for every masked item, row order
    manifest.json   written last: what made the store (see below)

Row order is given by ``item_ids.json``; there is no "row i is item i" contract. To use a
store with a dataset, align it to the item vocabulary with
:func:`sensorec.features.align.align_features`.

``manifest.json`` holds ``format_version``, ``modality``, ``encoder`` (the encoder's
fingerprint: name, config, weights revision / hash), ``inputs`` (media-reading options),
``content_hash`` (sha256 over every item's input: the text, or the media file's bytes hash),
``dim``, ``n_items``, ``n_available``, ``missing`` (counts by reason), ``files`` (sha256 of
each data file), ``created_at``, ``sensorec_version``, and ``manifest_hash``: the sha256 of
everything else except ``created_at``. Equal manifest hashes mean equal features made the
same way, so caches derived from a store are keyed by it.

Every file is written to a temporary file in the same directory and renamed into place
(``os.replace``); the manifest is removed first and written last, so a directory without
``manifest.json`` is an incomplete store and :meth:`FeatureStore.open` refuses it.

Encoder output rows holding NaN or inf are never stored: :meth:`FeatureStore.write` masks
them with reason ``"nan_features"`` (counted like every other reason).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import numpy as np

from sensorec.content.manifest import ItemId, normalize_item_id
from sensorec.data.errors import UnknownIdError

logger = logging.getLogger("sensorec.features")

FORMAT_VERSION = 1
NAN_FEATURES = "nan_features"

FEATURES_FILE = "features.npy"
IDS_FILE = "item_ids.json"
MASK_FILE = "mask.npy"
QUALITY_FILE = "quality.npy"
MISSING_FILE = "missing.json"
MANIFEST_FILE = "manifest.json"
DATA_FILES = (FEATURES_FILE, IDS_FILE, MASK_FILE, QUALITY_FILE, MISSING_FILE)


class StoreError(ValueError):
    """A feature store is incomplete or inconsistent; the message names the file."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


# -- hashing helpers ----------------------------------------------------------------------


def canonical_json(obj: Any) -> str:
    """Sorted-key, compact JSON (the form every hash in sensorec is taken over)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def json_hash(obj: Any) -> str:
    """sha256 (hex) of :func:`canonical_json` of ``obj``."""
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """sha256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def compute_manifest_hash(manifest: Mapping[str, Any]) -> str:
    """Hash over every manifest field except ``created_at`` and ``manifest_hash``."""
    body = {k: v for k, v in manifest.items() if k not in ("created_at", "manifest_hash")}
    return json_hash(body)


# -- atomic writes --------------------------------------------------------------------------


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write ``path`` through a temporary file in the same directory, then rename it.

    Readers see either the old file or the complete new one, never a partial file.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_json(path: Path, obj: Any) -> None:
    data = (json.dumps(obj, indent=1, ensure_ascii=False, default=str) + "\n").encode("utf-8")
    atomic_write(path, lambda fh: fh.write(data))


def _write_npy(path: Path, arr: np.ndarray) -> None:
    atomic_write(path, lambda fh: np.save(fh, arr, allow_pickle=False))


def sanitize_rows(
    features: np.ndarray, mask: np.ndarray, reasons: dict[int, str]
) -> tuple[np.ndarray, np.ndarray, int]:
    """Mask rows that hold NaN or inf. Returns ``(features, mask, n_masked)``.

    ``features`` [N, D] float32 (modified in place: masked rows set to 0), ``mask`` [N]
    bool (copy); ``reasons`` (row -> reason) gains ``"nan_features"`` for each row masked.
    """
    mask = mask.copy()
    if features.shape[0] == 0:
        return features, mask, 0
    bad = mask & ~np.isfinite(features).all(axis=1)
    for row in np.flatnonzero(bad):
        reasons[int(row)] = NAN_FEATURES
    mask[bad] = False
    features[~mask] = 0.0
    return features, mask, int(bad.sum())


class FeatureStore:
    """A read-only view of a feature store directory (see the module docstring).

    Attributes:
        path: the directory.
        features: float32 ``[N, D]``, memory-mapped; zeros where ``mask`` is False.
        mask: bool ``[N]``, True where the item has features.
        quality: float32 ``[N]`` in ``[0, 1]``; 0 where ``mask`` is False.
        item_ids: the N raw ids in row order.
        manifest: the parsed ``manifest.json``.
    """

    def __init__(
        self,
        path: Path,
        features: np.ndarray,
        mask: np.ndarray,
        quality: np.ndarray,
        item_ids: list[ItemId],
        reasons: dict[ItemId, str],
        manifest: dict[str, Any],
    ) -> None:
        self.path = path
        self.features = features  # [N, D]
        self.mask = mask  # [N]
        self.quality = quality  # [N]
        self.item_ids = item_ids
        self.reasons = reasons
        self.manifest = manifest
        self._row = {item_id: row for row, item_id in enumerate(item_ids)}

    # -- properties ------------------------------------------------------------------------
    @property
    def manifest_hash(self) -> str:
        return str(self.manifest["manifest_hash"])

    @property
    def dim(self) -> int:
        return int(self.manifest["dim"])

    @property
    def modality(self) -> str:
        return str(self.manifest["modality"])

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_available(self) -> int:
        return int(self.manifest["n_available"])

    @property
    def content_hash(self) -> str:
        return str(self.manifest["content_hash"])

    @property
    def encoder(self) -> dict[str, Any]:
        """The encoder fingerprint recorded in the manifest."""
        return dict(self.manifest["encoder"])

    @property
    def missing_counts(self) -> dict[str, int]:
        return dict(self.manifest["missing"])

    def __len__(self) -> int:
        return self.n_items

    def __contains__(self, raw_id: object) -> bool:
        return raw_id in self._row

    def __repr__(self) -> str:
        return (
            f"FeatureStore({str(self.path)!r}, modality={self.modality}, "
            f"encoder={self.encoder.get('encoder')}, n={self.n_items}, dim={self.dim}, "
            f"available={self.n_available})"
        )

    # -- lookup ----------------------------------------------------------------------------
    def row(self, raw_id: ItemId) -> int:
        """Row of ``raw_id``; raises :class:`UnknownIdError` when the store lacks it."""
        try:
            return self._row[raw_id]
        except (KeyError, TypeError):
            raise UnknownIdError("item", [raw_id]) from None

    def get(self, raw_id: ItemId) -> np.ndarray | None:
        """Feature vector ``[D]`` of ``raw_id`` (a copy), or ``None`` when it is masked.

        Raises :class:`UnknownIdError` when the store does not hold the id at all.
        """
        row = self.row(raw_id)
        if not self.mask[row]:
            return None
        return np.array(self.features[row])

    def reason(self, raw_id: ItemId) -> str | None:
        """Why ``raw_id`` has no features (``None`` when it has)."""
        self.row(raw_id)
        return self.reasons.get(raw_id)

    # -- reading -------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, *, verify: bool = False) -> FeatureStore:
        """Open a store, checking that its files agree with each other and the manifest.

        Args:
            path: the store directory.
            verify: also recompute each data file's sha256 and compare with the manifest
                (reads every byte; off by default).

        Raises:
            StoreError: naming the file that is absent, unreadable or inconsistent.
        """
        path = Path(path)
        if not path.is_dir():
            raise StoreError(path, "feature store directory not found")
        manifest_path = path / MANIFEST_FILE
        if not manifest_path.is_file():
            partial = (
                " (an interrupted extraction left .partial/)"
                if (path / ".partial").is_dir()
                else ""
            )
            raise StoreError(
                manifest_path,
                f"no manifest: the store is incomplete{partial}; run the extraction again",
            )
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(manifest_path, f"unreadable manifest: {exc}") from None
        required = (
            "format_version",
            "modality",
            "encoder",
            "content_hash",
            "dim",
            "n_items",
            "n_available",
            "missing",
            "files",
            "manifest_hash",
        )
        absent = [k for k in required if k not in manifest]
        if absent:
            raise StoreError(manifest_path, f"manifest lacks keys {absent}")
        if manifest["format_version"] > FORMAT_VERSION:
            raise StoreError(
                manifest_path,
                f"format version {manifest['format_version']} is newer than this sensorec "
                f"reads ({FORMAT_VERSION}); upgrade sensorec",
            )
        if compute_manifest_hash(manifest) != manifest["manifest_hash"]:
            raise StoreError(
                manifest_path, "manifest_hash does not match the manifest's content (edited?)"
            )
        n, dim = int(manifest["n_items"]), int(manifest["dim"])

        for name in DATA_FILES:
            if not (path / name).is_file():
                raise StoreError(path / name, "file missing from the store")
        if verify:
            for name in DATA_FILES:
                if file_sha256(path / name) != manifest["files"].get(name):
                    raise StoreError(
                        path / name, "sha256 differs from the manifest's (file changed)"
                    )

        features = _load_npy(path / FEATURES_FILE, mmap=True)
        if features.dtype != np.float32 or features.shape != (n, dim):
            raise StoreError(
                path / FEATURES_FILE,
                f"expected float32 [{n}, {dim}], found {features.dtype} {list(features.shape)}",
            )
        mask = _load_npy(path / MASK_FILE)
        if mask.dtype != np.bool_ or mask.shape != (n,):
            raise StoreError(
                path / MASK_FILE, f"expected bool [{n}], found {mask.dtype} {list(mask.shape)}"
            )
        if int(mask.sum()) != int(manifest["n_available"]):
            raise StoreError(
                path / MASK_FILE,
                f"{int(mask.sum())} items available, manifest says {manifest['n_available']}",
            )
        quality = _load_npy(path / QUALITY_FILE)
        if quality.dtype != np.float32 or quality.shape != (n,):
            raise StoreError(
                path / QUALITY_FILE,
                f"expected float32 [{n}], found {quality.dtype} {list(quality.shape)}",
            )
        try:
            raw_ids = json.loads((path / IDS_FILE).read_text(encoding="utf-8"))
            item_ids = [normalize_item_id(x) for x in raw_ids]
        except (ValueError, TypeError) as exc:
            raise StoreError(path / IDS_FILE, f"unreadable item ids: {exc}") from None
        if len(item_ids) != n:
            raise StoreError(path / IDS_FILE, f"{len(item_ids)} ids for {n} rows")
        if len(set(item_ids)) != n:
            raise StoreError(path / IDS_FILE, "duplicate item ids")
        try:
            reason_pairs = json.loads((path / MISSING_FILE).read_text(encoding="utf-8"))["reasons"]
            reasons = {normalize_item_id(i): str(r) for i, r in reason_pairs}
        except (ValueError, TypeError, KeyError) as exc:
            raise StoreError(path / MISSING_FILE, f"unreadable missing reasons: {exc}") from None
        masked = {item_ids[i] for i in np.flatnonzero(~mask)}
        if set(reasons) != masked:
            raise StoreError(
                path / MISSING_FILE, "reasons do not match the masked items of mask.npy"
            )
        if dict(Counter(reasons.values())) != dict(manifest["missing"]):
            raise StoreError(path / MISSING_FILE, "reason counts differ from the manifest's")
        return cls(path, features, mask, quality, item_ids, reasons, manifest)

    # -- writing -----------------------------------------------------------------------------
    @classmethod
    def write(
        cls,
        path: str | Path,
        *,
        modality: str,
        item_ids: Sequence[ItemId],
        features: np.ndarray,
        mask: np.ndarray,
        quality: np.ndarray,
        reasons: Mapping[ItemId, str],
        encoder: Mapping[str, Any],
        content_hash: str,
        inputs: Mapping[str, Any] | None = None,
    ) -> FeatureStore:
        """Write a complete store atomically and open it.

        Args:
            path: the directory (created if needed; an existing store there is replaced).
            modality: ``text``, ``image``, ``audio`` or ``video``.
            item_ids: N raw ids (int or str), row order.
            features: ``[N, D]``; rows with NaN/inf are masked (reason ``nan_features``),
                rows of masked items are stored as zeros.
            mask: ``[N]`` bool availability.
            quality: ``[N]`` quality in ``[0, 1]`` (NaN counts as 0; forced to 0 where
                masked).
            reasons: raw id -> reason for every masked item.
            encoder: the encoder fingerprint (``Encoder.fingerprint()``).
            content_hash: sha256 over the items' inputs.
            inputs: media-reading options that shaped the inputs.
        """
        from sensorec import __version__

        path = Path(path)
        ids = [normalize_item_id(x) for x in item_ids]
        n = len(ids)
        if len(set(ids)) != n:
            dup = [i for i, c in Counter(ids).items() if c > 1]
            raise ValueError(f"duplicate item ids: {dup[:10]}")
        feats = np.array(features, dtype=np.float32, copy=True)
        if feats.ndim != 2 or feats.shape[0] != n:
            raise ValueError(f"features must be [N={n}, D], got shape {list(feats.shape)}")
        mask = np.asarray(mask, dtype=bool)
        qual = np.nan_to_num(np.asarray(quality, dtype=np.float32), nan=0.0, posinf=1.0, neginf=0.0)
        if mask.shape != (n,) or qual.shape != (n,):
            raise ValueError(f"mask and quality must be [N={n}], got {mask.shape} and {qual.shape}")
        row_reasons: dict[int, str] = {}
        for row in np.flatnonzero(~mask):
            reason = reasons.get(ids[row])
            if not reason:
                raise ValueError(f"item {ids[row]!r} is masked but has no reason")
            row_reasons[int(row)] = str(reason)
        feats, mask, n_nan = sanitize_rows(feats, mask, row_reasons)
        if n_nan:
            logger.warning("%d item(s) got NaN/inf features; masked as %r", n_nan, NAN_FEATURES)
        qual = np.clip(qual, 0.0, 1.0).astype(np.float32)
        qual[~mask] = 0.0

        path.mkdir(parents=True, exist_ok=True)
        manifest_path = path / MANIFEST_FILE
        if manifest_path.exists():
            manifest_path.unlink()  # mark the directory incomplete while we write
            _fsync_dir(path)
        missing_pairs = [[ids[r], row_reasons[r]] for r in sorted(row_reasons)]
        _write_npy(path / FEATURES_FILE, feats)
        _write_npy(path / MASK_FILE, mask)
        _write_npy(path / QUALITY_FILE, qual)
        _write_json(path / IDS_FILE, ids)
        _write_json(path / MISSING_FILE, {"reasons": missing_pairs})
        counts = dict(sorted(Counter(row_reasons.values()).items()))
        manifest: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "modality": modality,
            "encoder": json.loads(canonical_json(dict(encoder))),
            "inputs": json.loads(canonical_json(dict(inputs or {}))),
            "content_hash": content_hash,
            "dim": int(feats.shape[1]),
            "n_items": n,
            "n_available": int(mask.sum()),
            "missing": counts,
            "files": {name: file_sha256(path / name) for name in DATA_FILES},
            "sensorec_version": __version__,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        manifest["manifest_hash"] = compute_manifest_hash(manifest)
        _write_json(manifest_path, manifest)
        return cls.open(path)


def _load_npy(path: Path, mmap: bool = False) -> np.ndarray:
    try:
        if mmap:
            try:
                return np.load(path, mmap_mode="r", allow_pickle=False)
            except ValueError:  # an empty array cannot be memory-mapped
                pass
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise StoreError(path, f"not a readable .npy file: {exc}") from None
