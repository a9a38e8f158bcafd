"""align_features: store rows -> vocabulary order, with a report; feature_cache_key."""

from __future__ import annotations

import numpy as np
import pytest

from sensorec.data.dataset import Vocabulary
from sensorec.features import AlignedFeatures, FeatureStore, align_features, feature_cache_key

FP = {"encoder": "fake", "modality": "image", "config": {}}


def make_store(path, ids, mask=None, reasons=None, content_hash="c" * 64):
    n = len(ids)
    feats = (
        np.arange(n * 2, dtype=np.float32).reshape(n, 2) + 1.0
    ) * 10  # row r = [(2r+1)*10, (2r+2)*10]
    mask = np.ones(n, bool) if mask is None else np.asarray(mask)
    return FeatureStore.write(
        path,
        modality="image",
        item_ids=ids,
        features=feats,
        mask=mask,
        quality=np.linspace(0.1, 1.0, n).astype(np.float32),
        reasons=reasons or {},
        encoder=FP,
        content_hash=content_hash,
    )


def test_rows_follow_the_vocabulary_and_report_counts(tmp_path):
    store = make_store(
        tmp_path / "s", [30, 10, 20, 99], mask=[True, True, False, True], reasons={20: "corrupt"}
    )
    vocab = Vocabulary([10, 20, 30, 40], kind="item")
    al = align_features(store, vocab, fill=-1.0)
    assert isinstance(al, AlignedFeatures)
    assert al.features.shape == (4, 2) and al.features.dtype == np.float32
    np.testing.assert_array_equal(al.features[0], store.get(10))  # vocab index 0 = item 10
    np.testing.assert_array_equal(al.features[2], store.get(30))
    np.testing.assert_array_equal(al.features[1], [-1.0, -1.0])  # masked in the store
    np.testing.assert_array_equal(al.features[3], [-1.0, -1.0])  # not in the store
    np.testing.assert_array_equal(al.mask, [True, False, True, False])
    np.testing.assert_allclose(al.quality, [store.quality[1], 0.0, store.quality[0], 0.0])
    assert al.manifest_hash == store.manifest_hash and al.modality == "image"
    assert al.report["n_with_features"] == 2
    assert al.report["coverage"] == 0.5
    assert al.report["without_features"] == {"corrupt": 1, "not_in_store": 1}
    assert al.report["n_store_not_in_vocabulary"] == 1
    assert al.report["examples_store_not_in_vocabulary"] == [99]
    assert al.report["examples_not_in_store"] == [40]
    assert al.report["id_matching"] == "exact"


def test_ids_that_differ_only_in_type_are_matched_as_strings(tmp_path):
    store = make_store(tmp_path / "s", ["2", "1"])
    al = align_features(store, Vocabulary([1, 2, 3]))
    assert al.report["id_matching"] == "str"
    np.testing.assert_array_equal(al.features[0], store.get("1"))
    np.testing.assert_array_equal(al.mask, [True, True, False])


def test_disjoint_ids_are_an_error(tmp_path):
    store = make_store(tmp_path / "s", [1001, 1002])
    with pytest.raises(ValueError, match="different id spaces"):
        align_features(store, Vocabulary([1, 2]))


def test_cache_key_follows_manifest_hashes_and_parameters(tmp_path):
    a = make_store(tmp_path / "a", [1, 2])
    a_again = make_store(tmp_path / "a2", [1, 2])
    b = make_store(tmp_path / "b", [1, 2], content_hash="d" * 64)
    key = feature_cache_key(a, extra={"k": 10})
    assert key == feature_cache_key(a_again, extra={"k": 10})  # same features, same key
    assert key == feature_cache_key(a.manifest_hash, extra={"k": 10})
    al = align_features(a, Vocabulary([1, 2]))
    assert key == feature_cache_key(al, extra={"k": 10})
    assert key != feature_cache_key(b, extra={"k": 10})  # other content
    assert key != feature_cache_key(a, extra={"k": 20})  # other parameters
    assert feature_cache_key(a, b) != feature_cache_key(b, a)
    with pytest.raises(ValueError):
        feature_cache_key(extra={})
