"""Generated media for the synthetic data set: posters, audio, video and text per item.

Each item's media are a deterministic function of its latent factors
(``Dataset.meta["latent"]["factors"]``, ``[n_items, dim]``), so content encoders have real
signal to find:

- text: genres plus adjectives chosen by the item's strongest factors (the sign picks one
  of a pair of opposite words);
- image (PNG, 96 x 128): background colour from factors 0-2, the number of discs from
  factor 3, their brightness from factor 4;
- audio (WAV, 16 kHz mono, 2 s): pitch from factor 4, pulse tempo from factor 5, noise
  level from factor 6;
- video (MP4, 1 s, 8 fps, 64 x 48, no sound): background colour from factor 7, the speed of
  a moving square from factor 6.

``write_synthetic_content`` writes the files and a content CSV
(``item_id,text,image,audio,video``) readable by
:meth:`sensorec.content.manifest.ContentManifest.from_csv`.
"""

from __future__ import annotations

import csv
import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

from sensorec.data.dataset import Dataset

ADJECTIVES = (
    ("dark", "bright"),
    ("slow", "fast-paced"),
    ("romantic", "cynical"),
    ("epic", "intimate"),
    ("funny", "serious"),
    ("musical", "quiet"),
    ("violent", "gentle"),
    ("strange", "familiar"),
)


def _unit(x: float) -> float:
    """Map a factor value (about -1..1) to 0..1."""
    return float(np.clip((x + 1.0) / 2.0, 0.0, 1.0))


def item_text(factors: np.ndarray, genres: list[str], title: str) -> str:
    order = np.argsort(-np.abs(factors))[:3]
    words = [ADJECTIVES[d % len(ADJECTIVES)][int(factors[d] > 0)] for d in order]
    return f"{title}. A {', '.join(words)} {' and '.join(g.lower() for g in genres)} story."


def poster(factors: np.ndarray) -> Image.Image:
    f = np.resize(factors, 8)
    bg = tuple(int(255 * _unit(v)) for v in f[:3])
    img = Image.new("RGB", (96, 128), bg)
    draw = ImageDraw.Draw(img)
    n_discs = 1 + int(5 * _unit(f[3]))
    shade = int(255 * _unit(f[4]))
    for k in range(n_discs):
        cx, cy = 16 + (k * 37) % 64, 20 + (k * 23) % 88
        draw.ellipse((cx - 10, cy - 10, cx + 10, cy + 10), fill=(shade, 255 - shade, shade // 2))
    return img


def audio_clip(
    factors: np.ndarray, seed: int, sample_rate: int = 16000, seconds: float = 2.0
) -> np.ndarray:
    f = np.resize(factors, 8)
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    pitch = 200.0 + 600.0 * _unit(f[4])
    tempo = 1.0 + 5.0 * _unit(f[5])
    envelope = 0.5 * (1 + np.sin(2 * np.pi * tempo * t))
    rng = np.random.default_rng(seed)
    noise = 0.2 * _unit(f[6]) * rng.standard_normal(len(t))
    return (0.5 * envelope * np.sin(2 * np.pi * pitch * t) + noise).astype(np.float32)  # [S]


def video_frames(
    factors: np.ndarray, n_frames: int = 8, size: tuple[int, int] = (64, 48)
) -> np.ndarray:
    f = np.resize(factors, 8)
    width, height = size
    color = np.array([255 * _unit(f[7]), 128, 255 * (1 - _unit(f[7]))], np.uint8)
    speed = 1 + int(7 * _unit(f[6]))
    frames = np.empty((n_frames, height, width, 3), np.uint8)  # [T, H, W, 3]
    for k in range(n_frames):
        frames[k] = color
        x = (k * speed) % (width - 12)
        frames[k, 18:30, x : x + 12] = 255
    return frames


def _write_wav(path: Path, signal: np.ndarray, sample_rate: int) -> None:
    pcm = (np.clip(signal, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())


def _write_mp4(path: Path, frames: np.ndarray, fps: int = 8) -> None:
    _, height, width, _ = frames.shape
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for k, arr in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
            frame.pts, frame.time_base = k, Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def write_synthetic_content(
    dataset: Dataset, out_dir: str | Path, *, overwrite: bool = False
) -> Path:
    """Write media for every item of a synthetic data set; returns the content CSV path.

    Existing files are kept unless ``overwrite`` (generation is deterministic, so a rerun
    gives the same bytes).
    """
    latent = dataset.meta.get("latent")
    if latent is None:
        raise ValueError(
            f"data set {dataset.name!r} has no latent factors: only the synthetic data set has generated media"
        )
    factors = np.asarray(latent["factors"])
    out = Path(out_dir)
    for sub in ("image", "audio", "video"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    table = dataset.item_table
    rows = []
    for idx, raw in enumerate(dataset.items.to_list()):
        f = factors[idx]
        title = str(table.loc[idx, "title"]) if table is not None else f"Item {raw}"
        genres = list(table.loc[idx, "genres"]) if table is not None else []
        paths = {
            m: out / m / f"{raw}.{ext}"
            for m, ext in (("image", "png"), ("audio", "wav"), ("video", "mp4"))
        }
        if overwrite or not paths["image"].exists():
            poster(f).save(paths["image"])
        if overwrite or not paths["audio"].exists():
            _write_wav(paths["audio"], audio_clip(f, seed=idx), 16000)
        if overwrite or not paths["video"].exists():
            _write_mp4(paths["video"], video_frames(f))
        rows.append(
            [
                raw,
                item_text(f, genres, title),
                *(str(paths[m].relative_to(out)) for m in ("image", "audio", "video")),
            ]
        )
    csv_path = out / "content.csv"
    with csv_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["item_id", "text", "image", "audio", "video"])
        writer.writerows(rows)
    return csv_path
