"""extract_features: reasons for missing items, resumable chunks, caching; the CLI API."""

from __future__ import annotations

import hashlib
import json
import os
import runpy
import signal
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from sensorec.content import ContentManifest, ItemContent
from sensorec.data.dataset import build_dataset
from sensorec.features import (
    Encoder,
    EncoderConfig,
    FeatureStore,
    extract,
    extract_features,
    format_inspection,
    inspect_store,
)
from sensorec.features.extract import content_hash, plan_inputs, text_quality
from sensorec.media import load_video
from sensorec.testing import media as gen

STORE_FILES = ("features.npy", "mask.npy", "quality.npy", "item_ids.json", "missing.json")


class FakeConfig(EncoderConfig):
    dim: int = 4
    salt: str = ""
    sample_rate: int = 8000  # read by the pipeline as a load_audio option
    n_frames: int = 3  # read by the pipeline as a load_video option


class Interrupted(RuntimeError):
    pass


class _Fake(Encoder[FakeConfig]):
    """Deterministic toy encoder; counts batches, can fail after N batches or emit NaN."""

    config_class = FakeConfig

    def __init__(
        self,
        config: FakeConfig | None = None,
        *,
        fail_after: int | None = None,
        nan_for: Sequence[Any] = (),
    ) -> None:
        super().__init__(config or FakeConfig())
        self.batches: list[list[Any]] = []
        self.fail_after = fail_after
        self.nan_for = set(nan_for)

    @property
    def dim(self) -> int:
        return self.config.dim

    def encode(self, batch: Sequence[Any]) -> np.ndarray:
        if self.fail_after is not None and len(self.batches) >= self.fail_after:
            raise Interrupted("simulated crash")
        self.batches.append(list(batch))
        rows = []
        for x in batch:
            key = self.key(x)
            digest = hashlib.sha256((self.config.salt + key).encode()).digest()
            row = np.frombuffer(digest, dtype=np.uint8)[: self.dim].astype(np.float32) / 255.0
            if key in self.nan_for:
                row = row.copy()
                row[0] = np.nan
            rows.append(row)
        return np.stack(rows)

    def key(self, x: Any) -> str:
        return str(x)


class FakeText(_Fake):
    name = "fake-text"
    modality = "text"


class FakeImage(_Fake):
    name = "fake-image"
    modality = "image"

    def key(self, x: Any) -> str:
        return f"{x.size}-{np.asarray(x).mean():.3f}"


class FakeAudio(_Fake):
    name = "fake-audio"
    modality = "audio"
    seen_rates: ClassVar[list[int]] = []

    def key(self, x: Any) -> str:
        type(self).seen_rates.append(x.sample_rate)
        return f"{len(x.waveform)}"


class FakeVideo(_Fake):
    name = "fake-video"
    modality = "video"

    def key(self, x: Any) -> str:
        return f"{x.n_frames}-{x.frames.mean():.2f}"


def text_manifest(n: int = 10) -> ContentManifest:
    return ContentManifest(
        [ItemContent(i, text=f"item number {i} " * (i % 4 + 1)) for i in range(1, n + 1)]
    )


def store_bytes(path: Path) -> dict[str, bytes]:
    return {name: (path / name).read_bytes() for name in STORE_FILES}


def test_text_extraction_reasons_quality_and_rows(tmp_path):
    m = ContentManifest(
        [
            ItemContent("a", text="a short title"),
            ItemContent("b", text=" ".join(["word"] * 40)),
            ItemContent("c"),
            ItemContent("d", text="   "),
        ]
    )
    enc = FakeText(FakeConfig(batch_size=1))
    store = extract_features(
        m, "text", enc, tmp_path / "s", item_ids=["d", "b", "zz", "a", "c"], progress=False
    )
    assert store.item_ids == ["d", "b", "zz", "a", "c"]
    np.testing.assert_array_equal(store.mask, [False, True, False, True, False])
    assert store.missing_counts == {"empty_text": 1, "no_content": 1, "not_in_manifest": 1}
    assert store.reason("zz") == "not_in_manifest"
    np.testing.assert_allclose(store.get("a"), FakeText().encode(["a short title"])[0])
    np.testing.assert_allclose(store.quality, [0, 1, 0, text_quality("a short title"), 0])
    assert text_quality("a short title") == pytest.approx(3 / 32)
    # Only readable items reach the encoder; text goes as one call per chunk (the encoder
    # batches inside, so sentence-transformers can sort by length).
    assert [len(b) for b in enc.batches] == [2]
    assert not (tmp_path / "s" / ".partial").exists()
    assert store.manifest["encoder"]["encoder"] == "fake-text"
    assert store.content_hash == content_hash(plan_inputs(m, "text", store.item_ids))


def test_encoder_modality_and_shape_are_checked(tmp_path):
    with pytest.raises(ValueError, match="encodes image, not text"):
        extract_features(text_manifest(), "text", FakeImage(), tmp_path / "s", progress=False)

    class Wrong(FakeText):
        def encode(self, batch):
            return np.zeros((len(batch), 3), np.float32)

    with pytest.raises(RuntimeError, match=r"returned shape \[2, 3\] .* expected \[2, 4\]"):
        extract_features(text_manifest(2), "text", Wrong(), tmp_path / "s", progress=False)


def test_nan_features_are_masked_not_stored(tmp_path):
    m = text_manifest(4)
    enc = FakeText(nan_for=[m[2].text])
    store = extract_features(m, "text", enc, tmp_path / "s", progress=False)
    assert store.reason(2) == "nan_features"
    assert store.missing_counts == {"nan_features": 1}
    assert np.isfinite(np.asarray(store.features)).all()


def test_interrupted_run_resumes_to_identical_store(tmp_path, caplog):
    m = text_manifest(10)
    cfg = FakeConfig(batch_size=2)
    full = extract_features(
        m, "text", FakeText(cfg), tmp_path / "full", chunk_size=3, progress=False
    )

    # chunk 0 = items 1-3 (one encoder call: text goes a chunk at a time); chunk 1 dies
    crashing = FakeText(cfg, fail_after=1)
    with pytest.raises(Interrupted):
        extract_features(m, "text", crashing, tmp_path / "run", chunk_size=3, progress=False)
    partial = tmp_path / "run" / ".partial"
    assert sorted(p.name for p in partial.glob("chunk_*.npz")) == ["chunk_00000.npz"]
    assert not (tmp_path / "run" / "manifest.json").exists()

    resumed_enc = FakeText(cfg)
    caplog.set_level("INFO", logger="sensorec")
    resumed = extract_features(
        m, "text", resumed_enc, tmp_path / "run", chunk_size=3, progress=False
    )
    assert "1 of 4 chunks already done" in caplog.text
    assert [x for b in resumed_enc.batches for x in b] == [m[i].text for i in range(4, 11)]
    assert store_bytes(tmp_path / "run") == store_bytes(tmp_path / "full")
    assert resumed.manifest_hash == full.manifest_hash
    assert not partial.exists()


def test_resume_refuses_chunks_of_another_encoder(tmp_path, caplog):
    m = text_manifest(10)
    with pytest.raises(Interrupted):
        extract_features(
            m,
            "text",
            FakeText(FakeConfig(salt="old"), fail_after=2),
            tmp_path / "run",
            chunk_size=2,
            progress=False,
        )
    assert (tmp_path / "run" / ".partial" / "chunk_00000.npz").exists()
    new_enc = FakeText(FakeConfig(salt="new"))
    store = extract_features(m, "text", new_enc, tmp_path / "run", chunk_size=2, progress=False)
    assert "different encoder" in caplog.text
    assert sum(len(b) for b in new_enc.batches) == 10  # everything recomputed
    ref = extract_features(
        m, "text", FakeText(FakeConfig(salt="new")), tmp_path / "ref", chunk_size=2, progress=False
    )
    assert store_bytes(tmp_path / "run") == store_bytes(tmp_path / "ref")
    assert store.manifest_hash == ref.manifest_hash


def test_resume_refuses_chunks_of_other_content(tmp_path, caplog):
    m = text_manifest(6)
    with pytest.raises(Interrupted):
        extract_features(
            m, "text", FakeText(fail_after=1), tmp_path / "run", chunk_size=2, progress=False
        )
    changed = ContentManifest([ItemContent(1, text="edited")] + [m[i] for i in range(2, 7)])
    enc = FakeText()
    store = extract_features(changed, "text", enc, tmp_path / "run", chunk_size=2, progress=False)
    assert "starting over" in caplog.text
    assert enc.batches[0][0] == "edited"
    np.testing.assert_allclose(store.get(1), FakeText().encode(["edited"])[0])


def test_resume_false_discards_partial_chunks(tmp_path):
    m = text_manifest(6)
    with pytest.raises(Interrupted):
        extract_features(
            m, "text", FakeText(fail_after=1), tmp_path / "run", chunk_size=2, progress=False
        )
    enc = FakeText()
    extract_features(m, "text", enc, tmp_path / "run", chunk_size=2, resume=False, progress=False)
    assert sum(len(b) for b in enc.batches) == 6


def test_corrupt_chunk_is_recomputed(tmp_path):
    m = text_manifest(6)
    full = extract_features(m, "text", FakeText(), tmp_path / "full", chunk_size=2, progress=False)
    with pytest.raises(Interrupted):
        extract_features(
            m, "text", FakeText(fail_after=2), tmp_path / "run", chunk_size=2, progress=False
        )
    chunk = tmp_path / "run" / ".partial" / "chunk_00001.npz"
    chunk.write_bytes(chunk.read_bytes()[:50])  # as if the disk lost its tail
    enc = FakeText()
    store = extract_features(m, "text", enc, tmp_path / "run", chunk_size=2, progress=False)
    assert [x for b in enc.batches for x in b] == [m[i].text for i in range(3, 7)]
    assert store.manifest_hash == full.manifest_hash


def test_up_to_date_store_is_reused_unless_forced(tmp_path):
    m = text_manifest(4)
    first = extract_features(m, "text", FakeText(), tmp_path / "s", progress=False)
    enc = FakeText()
    again = extract_features(m, "text", enc, tmp_path / "s", progress=False)
    assert enc.batches == [] and again.manifest_hash == first.manifest_hash
    forced = FakeText()
    extract_features(m, "text", forced, tmp_path / "s", progress=False, force=True)
    assert sum(len(b) for b in forced.batches) == 4
    other = FakeText(FakeConfig(salt="x"))
    replaced = extract_features(m, "text", other, tmp_path / "s", progress=False)
    assert replaced.manifest_hash != first.manifest_hash


KILL_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    from sensorec.content import ContentManifest, ItemContent
    from sensorec.features import Encoder, EncoderConfig, extract_features

    class Cfg(EncoderConfig):
        dim: int = 5

    class Enc(Encoder):
        name = "kill-text"
        modality = "text"
        config_class = Cfg

        def __init__(self, kill_after):
            super().__init__(Cfg(batch_size=3))
            self.kill_after = kill_after
            self.n = 0

        @property
        def dim(self):
            return 5

        def encode(self, batch):
            if self.kill_after >= 0 and self.n == self.kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
            self.n += 1
            return np.stack([np.full(5, len(t) / 7.0, np.float32) + np.arange(5) for t in batch])

    def main(out, kill_after):
        m = ContentManifest([ItemContent(i, text="x" * i) for i in range(1, 26)])
        extract_features(m, "text", Enc(kill_after), out, chunk_size=6, progress=False)

    if __name__ == "__main__":
        main(sys.argv[1], int(sys.argv[2]))
    """
)


@pytest.mark.slow
def test_killed_process_resumes_to_identical_store(tmp_path):
    """SIGKILL mid-run (no cleanup at all), re-run: same bytes as an uninterrupted run."""
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT)
    env = {**os.environ, "SENSOREC_PROGRESS": "0", "OMP_NUM_THREADS": "1"}

    def run(out: Path, kill_after: int) -> int:
        cmd = [sys.executable, str(script), str(out), str(kill_after)]
        return subprocess.run(cmd, env=env, capture_output=True, timeout=300).returncode

    # text goes to the encoder a chunk per call: killed in the 3rd call (chunk 2)
    assert run(tmp_path / "killed", 2) == -signal.SIGKILL
    assert len(list((tmp_path / "killed" / ".partial").glob("chunk_*.npz"))) == 2
    assert not (tmp_path / "killed" / "manifest.json").exists()
    assert run(tmp_path / "killed", -1) == 0
    runpy.run_path(str(script))["main"](tmp_path / "clean", -1)  # uninterrupted, in-process
    assert store_bytes(tmp_path / "killed") == store_bytes(tmp_path / "clean")
    a, b = FeatureStore.open(tmp_path / "killed"), FeatureStore.open(tmp_path / "clean")
    assert a.manifest_hash == b.manifest_hash


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("media")
    gen.write_image(root / "good.png", size=(40, 30), pattern="checker")
    gen.write_garbage(root / "corrupt.jpg")
    gen.write_empty(root / "empty.png")
    gen.write_wav(root / "tone.wav", seconds=0.5, sample_rate=16000)
    gen.write_empty(root / "zero.wav")
    gen.write_video(root / "silent.mp4", seconds=0.5, fps=8, audio=False)
    gen.write_video(root / "with_sound.mp4", seconds=1.0, fps=8, audio=True)
    return root


def test_image_reasons_are_counted(tmp_path, media_dir):
    m = ContentManifest(
        [
            ItemContent(1, image=str(media_dir / "good.png")),
            ItemContent(2, image=str(media_dir / "corrupt.jpg")),
            ItemContent(3, image=str(media_dir / "empty.png")),
            ItemContent(4, image=str(media_dir / "absent.png")),
            ItemContent(5, image="https://example.org/5.jpg"),
            ItemContent(6, missing={"image": "no_file"}),
        ]
    )
    store = extract_features(m, "image", FakeImage(), tmp_path / "s", progress=False)
    assert store.missing_counts == {
        "corrupt": 1,
        "empty": 1,
        "missing": 1,
        "no_file": 1,
        "not_downloaded": 1,
    }
    assert [store.reason(i) for i in range(1, 7)] == [
        None,
        "corrupt",
        "empty",
        "missing",
        "not_downloaded",
        "no_file",
    ]
    assert store.mask.tolist() == [True] + [False] * 5
    assert 0.0 < store.quality[0] <= 1.0
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["missing"]["corrupt"] == 1


def test_audio_reasons_and_video_soundtrack(tmp_path, media_dir):
    m = ContentManifest(
        [
            ItemContent("tone", audio=str(media_dir / "tone.wav")),
            ItemContent("zero", audio=str(media_dir / "zero.wav")),
            ItemContent("silent-video", video=str(media_dir / "silent.mp4")),
            ItemContent("trailer", video=str(media_dir / "with_sound.mp4")),
            ItemContent("gone", audio=str(media_dir / "gone.wav")),
        ]
    )
    FakeAudio.seen_rates = []
    store = extract_features(m, "audio", FakeAudio(), tmp_path / "s", progress=False)
    assert store.missing_counts == {"empty": 1, "missing": 1, "no_audio_stream": 1}
    assert store.reason("zero") == "empty"
    assert store.reason("silent-video") == "no_audio_stream"
    assert store.reason("gone") == "missing"
    assert store.mask.tolist() == [True, False, False, True, False]
    assert set(FakeAudio.seen_rates) == {8000}  # the encoder config's sample_rate was used
    assert store.manifest["inputs"]["sample_rate"] == 8000


def test_video_extraction_uses_encoder_frame_options(tmp_path, media_dir):
    m = ContentManifest(
        [
            ItemContent(1, video=str(media_dir / "with_sound.mp4")),
            ItemContent(2, video=str(media_dir / "corrupt.jpg")),
            ItemContent(3, video=str(media_dir / "zero.wav")),
        ]
    )
    enc = FakeVideo()
    store = extract_features(m, "video", enc, tmp_path / "s", progress=False)
    expected = load_video(media_dir / "with_sound.mp4", n_frames=3)  # n_frames from FakeConfig
    assert load_video(media_dir / "with_sound.mp4").n_frames > 3  # the default differs
    np.testing.assert_array_equal(enc.batches[0][0].frames, expected.frames)
    assert store.mask.tolist() == [True, False, False]
    assert store.manifest["inputs"]["n_frames"] == 3
    assert (store.reason(2), store.reason(3)) == ("corrupt", "empty")
    assert store.quality[0] > 0
    with pytest.raises(ValueError, match="unknown media option 'frames'"):
        extract_features(
            m, "video", FakeVideo(), tmp_path / "t", media_options={"frames": 2}, progress=False
        )


# -- the functions behind the CLI ------------------------------------------------------------------


def tiny_dataset():
    frame = pd.DataFrame({"user_id": [1, 1, 2, 2], "item_id": [1, 2, 2, 3]})
    items = pd.DataFrame(
        {
            "title": ["Heat (1995)", "Up", "Alien (1979)"],
            "year": [1995, 2009, 1979],
            "genres": [["Crime"], ["Animation"], ["Horror", "Sci-Fi"]],
        },
        index=pd.Index([1, 2, 3]),
    )
    return build_dataset("tiny", frame, item_table=items, item_ids=[1, 2, 3])


def test_extract_api_and_inspection(tmp_path):
    pytest.importorskip("sensorec.features.encoders")
    store = extract(
        tiny_dataset(), "text", "handcrafted", tmp_path / "s", batch_size=2, progress=False
    )
    assert store.item_ids == [1, 2, 3] and store.n_available == 3
    assert store.manifest["encoder"]["encoder"] == "handcrafted-text"
    assert store.manifest["encoder"]["config"]["batch_size"] == 2
    info = inspect_store(tmp_path / "s")
    assert (info["n_items"], info["dim"], info["coverage"]) == (3, store.dim, 1.0)
    assert sum(info["quality"]["counts"]) == 3 and len(info["quality"]["counts"]) == 10
    assert info["manifest"]["manifest_hash"] == store.manifest_hash
    text = format_inspection(info)
    assert "coverage       3/3 (100.0%)" in text
    assert store.manifest_hash in text


def test_extract_api_content_csv_and_errors(tmp_path):
    pytest.importorskip("sensorec.features.encoders")
    csv = tmp_path / "content.csv"
    csv.write_text("item_id,text,image\n1,first,\n3,third,\n99,not in dataset,\n")
    store = extract(
        tiny_dataset(), "text", "handcrafted", tmp_path / "s", content=csv, progress=False
    )
    assert store.item_ids == [1, 2, 3]
    assert store.missing_counts == {"not_in_manifest": 1}
    with pytest.raises(ValueError, match="no item of 'tiny' has image content"):
        extract(tiny_dataset(), "image", "handcrafted", tmp_path / "i", content=csv, progress=False)
    other = tmp_path / "other.csv"
    other.write_text("item_id,text\na,x\nb,y\n")
    with pytest.raises(ValueError, match="none of the 3 items"):
        extract(
            tiny_dataset(), "text", "handcrafted", tmp_path / "o", content=other, progress=False
        )
    with pytest.raises(ValueError, match="apply to the default"):
        extract(
            tiny_dataset(),
            "text",
            "handcrafted",
            tmp_path / "o",
            content=csv,
            plots=csv,
            progress=False,
        )
