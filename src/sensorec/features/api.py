"""The two functions behind ``sensorec features extract`` and ``sensorec features inspect``.

>>> store = extract("ml-100k", "text", "sbert", "features/ml-100k/text-sbert")  # doctest: +SKIP
>>> print(format_inspection(inspect_store("features/ml-100k/text-sbert")))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sensorec.content.manifest import ContentManifest
from sensorec.features.extract import extract_features
from sensorec.features.store import FeatureStore

if TYPE_CHECKING:
    from sensorec.data.dataset import Dataset

logger = logging.getLogger("sensorec.features")

QUALITY_BINS = 10


def extract(
    dataset: str | Dataset,
    modality: str,
    encoder_spec: str,
    out: str | Path,
    *,
    content: str | Path | ContentManifest | None = None,
    data_dir: str | Path | None = None,
    plots: str | Path | None = None,
    posters: str | Path | None = None,
    trailers: str | Path | None = None,
    id_map: str | Path | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    chunk_size: int = 256,
    resume: bool = True,
    force: bool = False,
    download_dir: str | Path | None = None,
    progress: bool = True,
) -> FeatureStore:
    """Extract one modality of a dataset's items into a feature store.

    Args:
        dataset: a name for :func:`sensorec.data.load_dataset` (``ml-100k``, ``ml-1m``,
            ``synthetic``, a table path) or a :class:`Dataset`.
        modality: ``text``, ``image``, ``audio`` or ``video``.
        encoder_spec: ``NAME`` or ``NAME:MODEL`` for
            :func:`sensorec.features.encoders.build_encoder` (``sbert``, ``clip:DIR``, ...).
        out: the store directory.
        content: a content CSV, a content folder (see :mod:`sensorec.content.manifest`) or a
            :class:`ContentManifest`. Default: the dataset's own content
            (``dataset.meta["content"]`` when the loader provides it, else text from the
            item table's title, year and genres, with ``plots``, ``posters``, ``trailers``
            and ``id_map`` as in :func:`sensorec.content.movielens_content`).
        data_dir: where the dataset's files are (for a dataset name).
        batch_size, device: encoder overrides.
        chunk_size, resume, force, download_dir, progress: see
            :func:`~sensorec.features.extract.extract_features`.

    Raises:
        ValueError: no dataset item is in the content (different id spaces), or no item has
            content for ``modality``.
    """
    from sensorec.features.encoders import build_encoder

    if isinstance(dataset, str):
        from sensorec.data.sources import load_dataset

        ds = load_dataset(dataset, data_dir)
    else:
        ds = dataset
    manifest = _content_for(
        ds, content, plots=plots, posters=posters, trailers=trailers, id_map=id_map
    )
    item_ids = ds.items.to_list()
    in_content = sum(1 for i in item_ids if i in manifest)
    if item_ids and in_content == 0:
        raise ValueError(
            f"none of the {len(item_ids)} items of {ds.name!r} (e.g. {item_ids[:3]}) is in "
            f"the content {manifest.source} ({len(manifest)} items, e.g. {manifest.item_ids[:3]})"
        )
    if manifest.coverage()[modality] == 0 and not (
        modality == "audio" and manifest.coverage()["video"]
    ):
        raise ValueError(
            f"no item of {ds.name!r} has {modality} content in {manifest.source}; "
            "give it with --content (a CSV or folder)"
            + (" or posters=/trailers=" if modality in ("image", "video") else "")
        )
    if in_content < len(item_ids):
        logger.warning(
            "%d of %d items of %s are not in the content (masked as not_in_manifest)",
            len(item_ids) - in_content,
            len(item_ids),
            ds.name,
        )
    overrides: dict[str, Any] = {}
    if batch_size is not None:
        overrides["batch_size"] = batch_size
    if device is not None:
        overrides["device"] = device
    encoder = build_encoder(encoder_spec, modality, **overrides)
    return extract_features(
        manifest,
        modality,
        encoder,
        out,
        item_ids=item_ids,
        chunk_size=chunk_size,
        resume=resume,
        progress=progress,
        download_dir=download_dir,
        force=force,
    )


def _content_for(
    dataset: Dataset,
    content: str | Path | ContentManifest | None,
    *,
    plots: str | Path | None,
    posters: str | Path | None,
    trailers: str | Path | None,
    id_map: str | Path | None,
) -> ContentManifest:
    movielens_args = {"plots": plots, "posters": posters, "trailers": trailers, "id_map": id_map}
    if content is not None:
        given = [k for k, v in movielens_args.items() if v is not None]
        if given:
            raise ValueError(f"{given} apply to the default (title/genre) content, not to content=")
        if isinstance(content, ContentManifest):
            return content
        return ContentManifest.from_path(content)
    own = dataset.meta.get("content") if isinstance(dataset.meta, dict) else None
    if own is not None and not any(v is not None for v in movielens_args.values()):
        return own if isinstance(own, ContentManifest) else ContentManifest.from_path(own)
    from sensorec.content.movielens import movielens_content

    if dataset.name == "ml-100k" and (posters or trailers) and id_map is None:
        logger.warning(
            "ML-100K item ids are not MovieLens ids: posters/trailers named by MovieLens id "
            "need id_map= (an ML-100K -> MovieLens id CSV)"
        )
    return movielens_content(
        dataset, plots=plots, posters_dir=posters, poster_id_map=id_map, trailers_dir=trailers
    )


def inspect_store(path: str | Path) -> dict[str, Any]:
    """Summary of a feature store: item count, dimension, coverage, quality histogram,
    missing counts, and the manifest.

    The quality histogram has 10 equal bins over ``[0, 1]`` and counts the items that have
    features (missing items have quality 0 by definition and are counted under
    ``missing``).
    """
    store = FeatureStore.open(path)
    quality = np.asarray(store.quality)[np.asarray(store.mask)]
    counts, edges = np.histogram(quality, bins=QUALITY_BINS, range=(0.0, 1.0))
    norms = np.linalg.norm(np.asarray(store.features)[np.asarray(store.mask)], axis=1)
    return {
        "path": str(store.path),
        "modality": store.modality,
        "encoder": store.encoder.get("encoder"),
        "n_items": store.n_items,
        "dim": store.dim,
        "n_available": store.n_available,
        "coverage": store.n_available / store.n_items if store.n_items else 0.0,
        "missing": store.missing_counts,
        "quality": {
            "mean": float(quality.mean()) if quality.size else None,
            "bin_edges": [round(float(e), 6) for e in edges],
            "counts": [int(c) for c in counts],
        },
        "feature_norm": {
            "mean": float(norms.mean()) if norms.size else None,
            "min": float(norms.min()) if norms.size else None,
            "max": float(norms.max()) if norms.size else None,
        },
        "manifest_hash": store.manifest_hash,
        "manifest": store.manifest,
    }


def format_inspection(info: dict[str, Any], width: int = 40) -> str:
    """Human-readable text of :func:`inspect_store`'s result (for the CLI)."""
    import json

    lines = [
        f"feature store  {info['path']}",
        f"modality       {info['modality']}",
        f"encoder        {info['encoder']}",
        f"items          {info['n_items']}",
        f"dimension      {info['dim']}",
        f"coverage       {info['n_available']}/{info['n_items']} ({100 * info['coverage']:.1f}%)",
    ]
    if info["missing"]:
        lines.append("missing        " + ", ".join(f"{r}: {n}" for r, n in info["missing"].items()))
    else:
        lines.append("missing        none")
    q = info["quality"]
    mean = "n/a" if q["mean"] is None else f"{q['mean']:.3f}"
    lines.append(f"quality        mean {mean} (items with features)")
    top = max(q["counts"]) if q["counts"] and max(q["counts"]) > 0 else 1
    edges = q["bin_edges"]
    for i, count in enumerate(q["counts"]):
        bar = "#" * round(width * count / top)
        lines.append(
            f"  [{edges[i]:.1f}, {edges[i + 1]:.1f}{']' if i == len(q['counts']) - 1 else ')'} {count:>7d} {bar}"
        )
    lines.append(f"manifest hash  {info['manifest_hash']}")
    lines.append("manifest:")
    lines.append(json.dumps(info["manifest"], indent=2, ensure_ascii=False, default=str))
    return "\n".join(lines)
