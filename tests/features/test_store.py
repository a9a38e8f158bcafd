"""FeatureStore: file layout, manifest and its hash, NaN masking, validation on open."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sensorec.data.errors import UnknownIdError
from sensorec.features.store import (
    FeatureStore,
    StoreError,
    compute_manifest_hash,
    file_sha256,
)

FP = {"encoder": "fake", "modality": "text", "config": {"dim": 3}}


def write_store(path, **overrides):
    args = dict(
        modality="text",
        item_ids=[10, "b", 3],
        features=np.array([[1, 2, 3], [9, 9, 9], [4, 5, 6]], dtype=np.float32),
        mask=np.array([True, False, True]),
        quality=np.array([0.5, 0.7, 1.0], dtype=np.float32),
        reasons={"b": "corrupt"},
        encoder=FP,
        content_hash="c" * 64,
        inputs={"sample_rate": 16000},
    )
    args.update(overrides)
    return FeatureStore.write(path, **args)


def test_write_and_open_round_trip(tmp_path):
    store = write_store(tmp_path / "s")
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [
        "features.npy",
        "item_ids.json",
        "manifest.json",
        "mask.npy",
        "missing.json",
        "quality.npy",
    ]
    again = FeatureStore.open(tmp_path / "s")
    assert isinstance(again.features, np.memmap)
    assert again.features.dtype == np.float32 and again.features.shape == (3, 3)
    assert again.item_ids == [10, "b", 3]
    np.testing.assert_array_equal(again.mask, [True, False, True])
    # masked rows are zeros and quality 0, whatever was passed in
    np.testing.assert_array_equal(again.features[1], [0, 0, 0])
    np.testing.assert_array_equal(again.quality, np.array([0.5, 0.0, 1.0], np.float32))
    np.testing.assert_array_equal(again.get(3), [4, 5, 6])
    assert again.get("b") is None and again.reason("b") == "corrupt" and again.reason(10) is None
    with pytest.raises(UnknownIdError):
        again.get(11)
    assert 10 in again and "10" not in again
    assert (again.dim, again.modality, again.n_available, len(again)) == (3, "text", 2, 3)
    assert again.manifest_hash == store.manifest_hash


def test_manifest_content(tmp_path):
    store = write_store(tmp_path / "s")
    m = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert m["format_version"] == 1
    assert m["modality"] == "text"
    assert m["encoder"] == FP
    assert m["inputs"] == {"sample_rate": 16000}
    assert m["content_hash"] == "c" * 64
    assert (m["dim"], m["n_items"], m["n_available"]) == (3, 3, 2)
    assert m["missing"] == {"corrupt": 1}
    assert m["files"]["features.npy"] == file_sha256(tmp_path / "s" / "features.npy")
    assert "created_at" in m and "sensorec_version" in m
    assert m["manifest_hash"] == compute_manifest_hash(m) == store.manifest_hash
    missing = json.loads((tmp_path / "s" / "missing.json").read_text())
    assert missing == {"reasons": [["b", "corrupt"]]}


def test_manifest_hash_ignores_time_but_not_content(tmp_path):
    a = write_store(tmp_path / "a")
    b = write_store(tmp_path / "b")
    assert a.manifest_hash == b.manifest_hash  # created_at differs, hash does not
    c = write_store(tmp_path / "c", encoder={**FP, "config": {"dim": 3, "pool": "max"}})
    d = write_store(tmp_path / "d", content_hash="d" * 64)
    feats = np.array([[1, 2, 3], [0, 0, 0], [4, 5, 7]], dtype=np.float32)
    e = write_store(tmp_path / "e", features=feats)
    assert len({a.manifest_hash, c.manifest_hash, d.manifest_hash, e.manifest_hash}) == 4


def test_nan_rows_are_masked_and_counted(tmp_path):
    feats = np.array([[1, np.nan, 3], [9, 9, 9], [np.inf, 5, 6]], dtype=np.float32)
    store = write_store(tmp_path / "s", features=feats)
    np.testing.assert_array_equal(store.mask, [False, False, False])
    assert np.isfinite(np.asarray(store.features)).all()
    assert store.missing_counts == {"corrupt": 1, "nan_features": 2}
    assert store.reason(10) == "nan_features"
    assert float(np.asarray(store.quality).max()) == 0.0


def test_write_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="duplicate item ids"):
        write_store(tmp_path / "s", item_ids=[1, 1, 2])
    with pytest.raises(ValueError, match="masked but has no reason"):
        write_store(tmp_path / "s", reasons={})
    with pytest.raises(ValueError, match=r"features must be \[N=3, D\]"):
        write_store(tmp_path / "s", features=np.zeros((2, 3), np.float32))
    with pytest.raises(TypeError, match="int or str"):
        write_store(tmp_path / "s", item_ids=[1.5, 2, 3])


def test_rewrite_replaces_store_and_leaves_no_temp_files(tmp_path):
    write_store(tmp_path / "s")
    feats = np.ones((3, 3), np.float32)
    store = write_store(tmp_path / "s", features=feats, mask=np.ones(3, bool), reasons={})
    np.testing.assert_array_equal(store.features, feats)
    assert not [p for p in (tmp_path / "s").iterdir() if p.name.startswith(".")]


def test_empty_store(tmp_path):
    store = write_store(
        tmp_path / "s",
        item_ids=[],
        features=np.zeros((0, 4), np.float32),
        mask=np.zeros(0, bool),
        quality=np.zeros(0, np.float32),
        reasons={},
    )
    assert (len(store), store.dim, store.n_available) == (0, 4, 0)


def test_open_without_manifest_is_incomplete(tmp_path):
    write_store(tmp_path / "s")
    (tmp_path / "s" / "manifest.json").unlink()
    (tmp_path / "s" / ".partial").mkdir()
    with pytest.raises(StoreError, match=r"incomplete.*interrupted") as err:
        FeatureStore.open(tmp_path / "s")
    assert "manifest.json" in str(err.value)
    with pytest.raises(StoreError, match="not found"):
        FeatureStore.open(tmp_path / "absent")


@pytest.mark.parametrize(
    ("name", "damage", "message"),
    [
        (
            "features.npy",
            lambda p: np.save(p, np.zeros((2, 3), np.float32)),
            r"expected float32 \[3, 3\]",
        ),
        ("features.npy", lambda p: p.write_bytes(b"garbage"), "not a readable .npy"),
        ("mask.npy", lambda p: np.save(p, np.ones(3, bool)), "3 items available, manifest says 2"),
        ("quality.npy", lambda p: np.save(p, np.zeros(3, np.float64)), "expected float32"),
        ("item_ids.json", lambda p: p.write_text("[1, 1, 2]"), "duplicate item ids"),
        ("item_ids.json", lambda p: p.write_text("[1, 2]"), "2 ids for 3 rows"),
        ("missing.json", lambda p: p.write_text('{"reasons": [[10, "corrupt"]]}'), "do not match"),
        ("missing.json", lambda p: p.unlink(), "file missing"),
        (
            "manifest.json",
            lambda p: p.write_text(p.read_text().replace('"n_available": 2', '"n_available": 3')),
            "manifest_hash does not match",
        ),
    ],
)
def test_open_names_the_inconsistent_file(tmp_path, name, damage, message):
    write_store(tmp_path / "s")
    damage(tmp_path / "s" / name)
    with pytest.raises(StoreError, match=message) as err:
        FeatureStore.open(tmp_path / "s")
    assert err.value.path.endswith(name)


def test_verify_detects_changed_bytes(tmp_path):
    write_store(tmp_path / "s")
    path = tmp_path / "s" / "features.npy"
    arr = np.load(path)
    arr[0, 0] = 42.0
    np.save(path, arr)
    FeatureStore.open(tmp_path / "s")  # shapes still agree
    with pytest.raises(StoreError, match="sha256 differs") as err:
        FeatureStore.open(tmp_path / "s", verify=True)
    assert err.value.path.endswith("features.npy")
