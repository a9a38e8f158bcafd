"""Where dataset files live, and fetching the official MovieLens archives.

The data folder has one documented precedence: the ``data_dir`` argument (the CLI's
``--data-dir``), else the environment variable ``SENSOREC_DATA``, else the user cache folder
``platformdirs.user_cache_dir("sensorec")``. Dataset ``name`` lives in ``<data_dir>/<name>/``.

MovieLens may not be redistributed, so sensorec never ships it: :func:`fetch_movielens`
downloads the official GroupLens zip, checks it (the MD5 that GroupLens publishes beside each
zip, and the SHA-256 of the key files inside it), and extracts it atomically (into a temporary
folder beside the target, then one rename), so an interrupted download never leaves a
half-written dataset behind.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sensorec.data.errors import DatasetNotFoundError
from sensorec.utils import progress

logger = logging.getLogger("sensorec.data.download")

DATA_ENV = "SENSOREC_DATA"
_CHUNK = 1 << 16


@dataclass(frozen=True)
class ArchiveSource:
    """An official dataset archive.

    Attributes:
        url: where to download the zip from.
        folder: the folder the zip holds (and that ends up as ``<data_dir>/<folder>``).
        required: file names (inside ``folder``) a loader needs.
        zip_md5: MD5 of the zip as published by the provider (``None``: not checked).
        file_sha256: SHA-256 of files inside ``folder``, checked after extraction.
    """

    url: str
    folder: str
    required: tuple[str, ...]
    zip_md5: str | None = None
    file_sha256: dict[str, str] = field(default_factory=dict)


# GroupLens publishes an ``.md5`` file beside each zip; the SHA-256 values are those of the
# original files (ML-100K's u.data, u.item, u.user, u.genre; ML-1M's movies.dat, users.dat).
MOVIELENS_SOURCES: dict[str, ArchiveSource] = {
    "ml-100k": ArchiveSource(
        url="https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        folder="ml-100k",
        required=("u.data", "u.item", "u.user"),
        zip_md5="0e33842e24a9c977be4e0107933c0723",
        file_sha256={
            "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
            "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
            "u.user": "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c",
            "u.genre": "9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb",
        },
    ),
    "ml-1m": ArchiveSource(
        url="https://files.grouplens.org/datasets/movielens/ml-1m.zip",
        folder="ml-1m",
        required=("ratings.dat", "movies.dat", "users.dat"),
        zip_md5="c4d9eecfca2ab87c1945afe126590906",
        file_sha256={
            "movies.dat": "0140fc2356357c1a851d0f52e893a1e4d3696df632c4141cea8d5bc3d621f0b9",
            "users.dat": "1dc3a95300cb19f7c10e027daf29b8cdf1d908dab65b5edfb45950aa389a10a3",
        },
    ),
}


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The data folder: argument > env ``SENSOREC_DATA`` > ``user_cache_dir("sensorec")``."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("sensorec"))


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def missing_files(folder: Path, required: tuple[str, ...]) -> list[str]:
    """Names of ``required`` files absent from ``folder``."""
    return [f for f in required if not (folder / f).is_file()]


def not_found_message(name: str, data_dir: Path, source: ArchiveSource, why: str) -> str:
    """The message telling a user where to put the files by hand."""
    files = ", ".join(source.required)
    return (
        f"dataset {name!r} is not available: {why}. Download {source.url} yourself and "
        f"unzip it so that {data_dir / source.folder}/ holds {files}; or point sensorec to "
        f"a folder holding {source.folder}/ with --data-dir or the {DATA_ENV} environment "
        f"variable."
    )


def _read_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return
        yield chunk


def _download(url: str, dest: Path, timeout: float) -> str:
    """Download ``url`` to ``dest`` with a progress bar; returns the MD5 of the bytes."""
    md5 = hashlib.md5()
    with urllib.request.urlopen(url, timeout=timeout) as resp, open(dest, "wb") as out:
        length = resp.headers.get("Content-Length") if hasattr(resp, "headers") else None
        total = math.ceil(int(length) / _CHUNK) if length and length.isdigit() else None
        for chunk in progress(
            _read_chunks(resp), desc=f"download {url.rsplit('/', 1)[-1]}", total=total
        ):
            md5.update(chunk)
            out.write(chunk)
    return md5.hexdigest()


def _safe_extract(archive: zipfile.ZipFile, target: Path) -> None:
    """Extract refusing members that would land outside ``target`` (zip slip)."""
    root = target.resolve()
    for member in archive.infolist():
        dest = (target / member.filename).resolve()
        if dest != root and root not in dest.parents:
            raise ValueError(f"archive member {member.filename!r} escapes the target folder")
    archive.extractall(target)


def fetch_archive(
    name: str, source: ArchiveSource, data_dir: Path, *, timeout: float = 60.0
) -> Path:
    """Download, verify and extract ``source`` into ``data_dir / source.folder``.

    Any failure (no network, HTTP error, checksum mismatch, bad zip) raises
    :class:`DatasetNotFoundError` with the by-hand instructions, and leaves ``data_dir``
    as it was.
    """
    target = data_dir / source.folder
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{source.folder}-", dir=data_dir))
    except OSError as exc:
        raise DatasetNotFoundError(
            not_found_message(name, data_dir, source, f"cannot write to {data_dir} ({exc})")
        ) from exc
    try:
        zip_path = tmp / f"{source.folder}.zip"
        logger.info("downloading %s from %s", name, source.url)
        try:
            md5 = _download(source.url, zip_path, timeout)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise DatasetNotFoundError(
                not_found_message(name, data_dir, source, f"download failed ({exc})")
            ) from exc
        if source.zip_md5 is not None and md5 != source.zip_md5:
            raise DatasetNotFoundError(
                not_found_message(
                    name,
                    data_dir,
                    source,
                    f"the downloaded zip has MD5 {md5}, expected {source.zip_md5}",
                )
            )
        extract_dir = tmp / "extract"
        try:
            with zipfile.ZipFile(zip_path) as archive:
                _safe_extract(archive, extract_dir)
        except (zipfile.BadZipFile, ValueError, OSError) as exc:
            raise DatasetNotFoundError(
                not_found_message(name, data_dir, source, f"cannot extract the zip ({exc})")
            ) from exc
        folder = extract_dir / source.folder
        absent = missing_files(folder, source.required)
        if absent:
            raise DatasetNotFoundError(
                not_found_message(
                    name,
                    data_dir,
                    source,
                    f"the zip lacks {source.folder}/{', '.join(absent)}",
                )
            )
        for fname, expected in source.file_sha256.items():
            got = file_digest(folder / fname) if (folder / fname).is_file() else "absent"
            if got != expected:
                raise DatasetNotFoundError(
                    not_found_message(
                        name,
                        data_dir,
                        source,
                        f"{source.folder}/{fname} in the zip has SHA-256 {got}, "
                        f"expected {expected}",
                    )
                )
        if target.exists():
            raise DatasetNotFoundError(
                not_found_message(
                    name,
                    data_dir,
                    source,
                    f"{target} appeared during the download; not overwriting it",
                )
            )
        os.replace(folder, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("extracted %s into %s", name, target)
    return target


def ensure_movielens(name: str, data_dir: str | Path | None = None, download: bool = True) -> Path:
    """The folder holding MovieLens ``name`` (``ml-100k`` / ``ml-1m``), downloading it if
    absent and ``download`` is true.

    An existing folder that lacks required files is never overwritten: that raises
    :class:`DatasetNotFoundError` naming the missing files.
    """
    if name not in MOVIELENS_SOURCES:
        known = ", ".join(sorted(MOVIELENS_SOURCES))
        raise ValueError(f"unknown MovieLens dataset {name!r}; known: {known}")
    source = MOVIELENS_SOURCES[name]
    root = resolve_data_dir(data_dir)
    folder = root / source.folder
    absent = missing_files(folder, source.required)
    if not absent:
        return folder
    if folder.exists():
        raise DatasetNotFoundError(
            not_found_message(name, root, source, f"{folder} lacks {', '.join(absent)}")
        )
    if not download:
        raise DatasetNotFoundError(
            not_found_message(name, root, source, f"{folder} does not exist and download=False")
        )
    return fetch_archive(name, source, root)
