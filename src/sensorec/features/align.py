"""Align a feature store to a dataset's item vocabulary, and key derived caches.

Stores are keyed by raw item id in their own row order; models want row ``i`` to be item
index ``i`` of the dataset's :class:`~sensorec.data.dataset.Vocabulary`.
:func:`align_features` does that mapping once, in the data layer, and reports what did not
match: vocabulary items without features (by reason) and store items the vocabulary lacks.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sensorec.content.manifest import normalize_item_id
from sensorec.features.store import FeatureStore, json_hash

if TYPE_CHECKING:
    from sensorec.data.dataset import Vocabulary

logger = logging.getLogger("sensorec.features")

NOT_IN_STORE = "not_in_store"


@dataclass(frozen=True)
class AlignedFeatures:
    """Features in vocabulary order.

    Attributes:
        features: float32 ``[n_items, D]``; rows without features hold ``fill``.
        mask: bool ``[n_items]``, True where the item has features.
        quality: float32 ``[n_items]``, 0 where ``mask`` is False.
        manifest_hash: the store's manifest hash (key for derived caches).
        modality: the store's modality.
        report: ``n_items``, ``n_with_features``, ``coverage``,
            ``without_features`` (count by reason; ``not_in_store`` for ids the store
            lacks), ``n_store_not_in_vocabulary``, ``examples_not_in_store`` and
            ``examples_store_not_in_vocabulary`` (up to 10 ids each), ``id_matching``
            (``"exact"`` or ``"str"``).
    """

    features: np.ndarray  # [n_items, D]
    mask: np.ndarray  # [n_items]
    quality: np.ndarray  # [n_items]
    manifest_hash: str
    modality: str
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.features.shape[1])

    @property
    def n_items(self) -> int:
        return int(self.features.shape[0])


def align_features(store: FeatureStore, items: Vocabulary, *, fill: float = 0.0) -> AlignedFeatures:
    """Reorder ``store`` to the vocabulary ``items``.

    Ids are matched exactly. When nothing matches exactly but the ids match as strings
    (a store keyed ``"1"``, ``"2"`` and a vocabulary of ints ``1``, ``2``), they are matched
    as strings, and ``report["id_matching"]`` says so.

    Args:
        store: an opened feature store.
        items: the dataset's item vocabulary.
        fill: value of the feature rows of items without features.

    Returns:
        :class:`AlignedFeatures` with ``features`` ``[len(items), D]``.

    Raises:
        ValueError: when no vocabulary item is in the store (almost always the wrong store
            or different id spaces, e.g. ML-100K ids against an ML-1M store).
    """
    vocab_ids = [normalize_item_id(x) for x in items.to_list()]
    store_rows = {item_id: row for row, item_id in enumerate(store.item_ids)}
    matching = "exact"
    rows = np.array([store_rows.get(i, -1) for i in vocab_ids], dtype=np.int64)
    if len(vocab_ids) and (rows < 0).all():
        by_str = {str(item_id): row for item_id, row in store_rows.items()}
        if len(by_str) == len(store_rows):
            alt = np.array([by_str.get(str(i), -1) for i in vocab_ids], dtype=np.int64)
            if (alt >= 0).any():
                rows, matching = alt, "str"
    if len(vocab_ids) and store.n_items and (rows < 0).all():
        raise ValueError(
            f"no item of the vocabulary ({len(vocab_ids)} items, e.g. {vocab_ids[:3]}) is in "
            f"the feature store {store.path} ({store.n_items} items, e.g. "
            f"{store.item_ids[:3]}): wrong store or different id spaces"
        )

    found = rows >= 0
    src = rows[found]
    n, dim = len(vocab_ids), store.dim
    features = np.full((n, dim), fill, dtype=np.float32)
    mask = np.zeros(n, dtype=bool)
    quality = np.zeros(n, dtype=np.float32)
    if src.size:
        store_mask = np.asarray(store.mask)[src]
        dst = np.flatnonzero(found)
        keep_dst, keep_src = dst[store_mask], src[store_mask]
        features[keep_dst] = np.asarray(store.features[keep_src])
        mask[keep_dst] = True
        quality[keep_dst] = np.asarray(store.quality)[keep_src]

    why: Counter[str] = Counter()
    not_in_store = []
    for pos in np.flatnonzero(~mask):
        if rows[pos] < 0:
            why[NOT_IN_STORE] += 1
            not_in_store.append(vocab_ids[pos])
        else:
            why[store.reasons.get(store.item_ids[rows[pos]], "unknown")] += 1
    used = np.zeros(store.n_items, dtype=bool)
    used[src] = True
    extra = [store.item_ids[r] for r in np.flatnonzero(~used)]
    report: dict[str, Any] = {
        "n_items": n,
        "n_with_features": int(mask.sum()),
        "coverage": float(mask.mean()) if n else 0.0,
        "without_features": dict(sorted(why.items())),
        "n_store_not_in_vocabulary": len(extra),
        "examples_not_in_store": not_in_store[:10],
        "examples_store_not_in_vocabulary": extra[:10],
        "id_matching": matching,
    }
    if mask.sum() < n:
        logger.warning(
            "%s features: %d of %d vocabulary items have none (%s)",
            store.modality,
            n - int(mask.sum()),
            n,
            ", ".join(f"{k}={v}" for k, v in report["without_features"].items()),
        )
    if extra:
        logger.info("%d store items are not in the vocabulary (ignored)", len(extra))
    return AlignedFeatures(
        features=features,
        mask=mask,
        quality=quality,
        manifest_hash=store.manifest_hash,
        modality=store.modality,
        report=report,
    )


def feature_cache_key(
    *stores: FeatureStore | AlignedFeatures | str, extra: dict[str, Any] | None = None
) -> str:
    """Key (sha256 hex) for a cache derived from feature stores, e.g. a kNN item graph.

    It changes whenever any store's manifest hash changes (other encoder, other content,
    other features), when the stores come in another order, or when ``extra`` (the
    derivation's own parameters: ``k``, the similarity, the item vocabulary's hash, ...)
    changes. Stores may be given as :class:`FeatureStore`, :class:`AlignedFeatures` or a
    manifest hash string.
    """
    if not stores:
        raise ValueError("feature_cache_key needs at least one store")
    hashes = []
    for s in stores:
        if isinstance(s, (FeatureStore, AlignedFeatures)):
            hashes.append(s.manifest_hash)
        elif isinstance(s, str):
            hashes.append(s)
        else:
            raise TypeError(
                f"expected a FeatureStore, AlignedFeatures or hash, got {type(s).__name__}"
            )
    return json_hash({"stores": hashes, "extra": dict(extra or {})})
