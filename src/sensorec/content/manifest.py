"""Where each item's content is: text, image, audio, video.

A :class:`ContentManifest` maps raw item ids (``int`` or ``str``, the same ids as the
dataset's item :class:`~sensorec.data.dataset.Vocabulary`) to an :class:`ItemContent`:

- ``text``: the literal text to encode (already assembled from fields where a source has
  several, see :func:`compose_text`);
- ``image``, ``audio``, ``video``: a local file path (absolute) or an ``http(s)://`` URL.

Nothing is read or decoded here; :func:`sensorec.features.extract_features` reads the media
and records, per item, why something could not be used. A manifest may already know why an
item has no content for a modality (a poster without an id mapping, a URL that could not be
downloaded): that reason is kept in ``ItemContent.missing`` and ends up counted in the
feature-store manifest.

Readers:

- :meth:`ContentManifest.from_csv`: columns ``item_id,text,image,audio,video`` (only
  ``item_id`` is required, any cell may be empty; relative paths are resolved against the
  CSV's folder).
- :meth:`ContentManifest.from_folder`: one sub-folder per modality, files named by item id::

      content/
        text/<id>.txt                       UTF-8 text
        image/<id>.jpg|.jpeg|.png|.gif|.bmp|.webp|.tif|.tiff
        audio/<id>.wav|.mp3|.m4a|.flac|.ogg|.opus|.aac
        video/<id>.mp4|.mkv|.webm|.avi|.mov|.m4v

- :func:`sensorec.content.movielens.movielens_content`: titles, genres, plots, posters and
  trailers for the MovieLens data sets.

URLs are only downloaded when asked for, by :meth:`ContentManifest.fetch`; a URL that
cannot be fetched becomes a missing item with reason ``"download_failed"``.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Union

import numpy as np

from sensorec.data.errors import DataFormatError

logger = logging.getLogger("sensorec.content")

ItemId = Union[int, str]  # noqa: UP007  (a runtime alias; Python 3.10 is supported)

MODALITIES = ("text", "image", "audio", "video")
MEDIA_MODALITIES = ("image", "audio", "video")

#: File extensions :meth:`ContentManifest.from_folder` recognises, per modality.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "text": (".txt",),
    "image": (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"),
    "audio": (".wav", ".mp3", ".m4a", ".flac", ".ogg", ".opus", ".aac"),
    "video": (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v"),
}

# Reasons an item has no usable content that are decided before any media is read
# (media-reading reasons such as "missing" or "corrupt" come from sensorec.media).
NO_CONTENT = "no_content"  # the manifest has the item but nothing for this modality
NOT_IN_MANIFEST = "not_in_manifest"  # the item is not in the manifest at all
DOWNLOAD_FAILED = "download_failed"  # a URL could not be fetched
NOT_DOWNLOADED = "not_downloaded"  # a URL that nobody asked to download
EMPTY_TEXT = "empty_text"  # the text is empty or only whitespace

_URL_RE = re.compile(r"^https?://", re.IGNORECASE)
_INT_RE = re.compile(r"^-?(0|[1-9][0-9]*)$")


def is_url(value: str) -> bool:
    """Whether ``value`` is an ``http://`` or ``https://`` URL."""
    return bool(_URL_RE.match(value))


def compose_text(parts: Iterable[str | None], sep: str = " ") -> str:
    """Join text fields into one passage.

    Empty fields are skipped, inner whitespace is collapsed, and each field that does not
    already end with ``.``, ``!``, ``?`` or ``…`` gets a full stop, so
    ``["Toy Story (1995)", "Genres: Animation, Comedy"]`` gives
    ``"Toy Story (1995). Genres: Animation, Comedy."``.
    """
    out = []
    for part in parts:
        if part is None:
            continue
        text = " ".join(str(part).split())
        if not text:
            continue
        if text[-1] not in ".!?…":
            text += "."
        out.append(text)
    return sep.join(out)


def normalize_item_id(raw: Any) -> ItemId:
    """A raw id as a plain Python ``int`` or ``str`` (numpy scalars unwrapped).

    Raises ``TypeError`` for anything else (floats, bools, ``None``): ids must compare
    exactly, and ``1.0`` vs ``1`` would silently split an item in two.
    """
    if isinstance(raw, np.generic):
        raw = raw.item()
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise TypeError(f"item ids must be int or str, got {raw!r} ({type(raw).__name__})")
    return raw


def coerce_ids(raw_ids: Sequence[str], id_type: str) -> list[ItemId]:
    """Convert ids read as strings. ``id_type``: ``"auto"`` (int when every id is a plain
    decimal integer without leading zeros, else str), ``"int"`` or ``"str"``."""
    if id_type == "str":
        return list(raw_ids)
    if id_type == "int":
        bad = [r for r in raw_ids if not _INT_RE.match(r.strip())]
        if bad:
            raise ValueError(f"id_type='int' but these ids are not integers: {bad[:5]}")
        return [int(r) for r in raw_ids]
    if id_type != "auto":
        raise ValueError(f"id_type must be 'auto', 'int' or 'str', got {id_type!r}")
    if raw_ids and all(_INT_RE.match(r) for r in raw_ids):
        return [int(r) for r in raw_ids]
    return list(raw_ids)


def _sort_key(item_id: ItemId) -> tuple[int, int, str]:
    return (0, item_id, "") if isinstance(item_id, int) else (1, 0, item_id)


@dataclass(frozen=True)
class ItemContent:
    """Content of one item.

    Attributes:
        item_id: raw id (``int`` or ``str``).
        text: the text to encode, or ``None``.
        image, audio, video: an absolute local path or an ``http(s)`` URL, or ``None``.
        missing: modality -> reason, for content known to be missing before reading
            (e.g. ``{"image": "download_failed"}``).
    """

    item_id: ItemId
    text: str | None = None
    image: str | None = None
    audio: str | None = None
    video: str | None = None
    missing: Mapping[str, str] = field(default_factory=dict)

    def source(self, modality: str) -> str | None:
        """The text (``modality="text"``) or media location for ``modality``."""
        if modality not in MODALITIES:
            raise ValueError(f"unknown modality {modality!r}; use one of {MODALITIES}")
        return getattr(self, modality)

    def missing_reason(self, modality: str) -> str | None:
        """Why this item has no content for ``modality`` (``None`` if it has some)."""
        if self.source(modality) is not None:
            return None
        return self.missing.get(modality, NO_CONTENT)


class ContentManifest:
    """Per-item content locations, keyed by raw item id, in a fixed item order.

    Build one with :meth:`from_csv`, :meth:`from_folder`,
    :func:`~sensorec.content.movielens.movielens_content`, or directly from
    :class:`ItemContent` records.
    """

    def __init__(
        self,
        items: Iterable[ItemContent],
        *,
        source: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        self._items: dict[ItemId, ItemContent] = {}
        for item in items:
            item_id = normalize_item_id(item.item_id)
            if item_id in self._items:
                raise ValueError(f"duplicate item id {item_id!r} in content manifest")
            for modality, reason in item.missing.items():
                if modality not in MODALITIES:
                    raise ValueError(f"item {item_id!r}: unknown modality {modality!r}")
                if not isinstance(reason, str) or not reason:
                    raise ValueError(f"item {item_id!r}: missing reason must be a string")
            if type(item.item_id) is not type(item_id):
                item = replace(item, item_id=item_id)
            self._items[item_id] = item
        self.source = source
        self.meta: dict[str, Any] = dict(meta or {})

    # -- container protocol ------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[ItemContent]:
        return iter(self._items.values())

    def __contains__(self, item_id: object) -> bool:
        try:
            return normalize_item_id(item_id) in self._items
        except TypeError:
            return False

    def __getitem__(self, item_id: ItemId) -> ItemContent:
        try:
            return self._items[normalize_item_id(item_id)]
        except KeyError:
            raise KeyError(f"item {item_id!r} is not in the content manifest") from None

    def get(self, item_id: ItemId) -> ItemContent | None:
        """The item's content, or ``None`` when the manifest does not hold it."""
        return self._items.get(normalize_item_id(item_id))

    def __repr__(self) -> str:
        cov = ", ".join(f"{m}={n}" for m, n in self.coverage().items())
        return f"ContentManifest(n={len(self)}, {cov})"

    @property
    def item_ids(self) -> list[ItemId]:
        """Raw ids in manifest order."""
        return list(self._items)

    def coverage(self) -> dict[str, int]:
        """Number of items with content for each modality."""
        return {m: sum(1 for it in self if it.source(m) is not None) for m in MODALITIES}

    def missing_counts(self, modality: str) -> dict[str, int]:
        """Items without content for ``modality``, counted by reason."""
        counts = Counter(it.missing_reason(modality) for it in self)
        counts.pop(None, None)
        return dict(sorted(counts.items()))  # type: ignore[arg-type]

    def subset(self, item_ids: Iterable[ItemId]) -> ContentManifest:
        """A manifest holding only ``item_ids`` that are present, in the given order."""
        keep = [self._items[i] for i in map(normalize_item_id, item_ids) if i in self._items]
        return ContentManifest(keep, source=self.source, meta=self.meta)

    # -- readers ---------------------------------------------------------------------------
    @classmethod
    def from_csv(
        cls,
        path: str | Path,
        *,
        text_columns: Sequence[str] | None = None,
        id_type: str = "auto",
        encoding: str = "utf-8",
    ) -> ContentManifest:
        """Read a CSV with header ``item_id[,text][,image][,audio][,video]``.

        Args:
            path: the CSV file (comma-separated, RFC 4180 quoting; multi-line quoted text
                is fine).
            text_columns: build the text from these columns, in this order, with
                :func:`compose_text` (e.g. ``["title", "plot"]``). Default: the ``text``
                column. Columns other than the known ones must be listed here, so a
                misspelt header (``imgae``) fails instead of silently dropping images.
            id_type: ``"auto"`` (int ids when every id is a plain integer), ``"int"``,
                ``"str"``.
            encoding: text encoding of the file.

        Empty cells mean "no content". Media cells are paths (relative ones are resolved
        against the CSV's folder) or ``http(s)`` URLs.

        Raises:
            DataFormatError: naming the file and 1-based line, for a missing ``item_id``
                column, unknown columns, a row with the wrong number of fields, an empty or
                duplicate item id, bad quoting or undecodable bytes.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"content CSV not found: {path}")
        raw = path.read_bytes()
        try:
            content = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise DataFormatError(path, line, f"not valid {encoding}: {exc.reason}") from None
        if content.startswith("\ufeff"):
            content = content[1:]
        base = path.parent.resolve()
        reader = csv.reader(content.splitlines(keepends=True), strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise DataFormatError(path, 1, "empty file: expected a header row") from None
        except csv.Error as exc:
            raise DataFormatError(path, reader.line_num, f"bad CSV: {exc}") from None
        header = [h.strip() for h in header]
        if "item_id" not in header:
            raise DataFormatError(path, 1, f"no 'item_id' column in header {header}")
        dup = sorted({h for h in header if header.count(h) > 1})
        if dup:
            raise DataFormatError(path, 1, f"duplicate columns in header: {dup}")
        text_cols = list(text_columns) if text_columns is not None else None
        known = {"item_id", *MODALITIES, *(text_cols or [])}
        unknown = [h for h in header if h not in known]
        if unknown:
            raise DataFormatError(
                path,
                1,
                f"unknown columns {unknown}; known: item_id, text, image, audio, video "
                "(list extra text columns in text_columns=...)",
            )
        if text_cols is not None:
            absent = [c for c in text_cols if c not in header]
            if absent:
                raise DataFormatError(path, 1, f"text_columns {absent} are not in the header")
        col = {h: i for i, h in enumerate(header)}

        rows: list[tuple[int, str, dict[str, str | None]]] = []
        first_line: dict[str, int] = {}
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise DataFormatError(path, reader.line_num, f"bad CSV: {exc}") from None
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != len(header):
                raise DataFormatError(
                    path, line, f"expected {len(header)} fields ({header}), found {len(row)}"
                )
            item_id = row[col["item_id"]].strip()
            if not item_id:
                raise DataFormatError(path, line, "empty item_id")
            if item_id in first_line:
                raise DataFormatError(
                    path,
                    line,
                    f"duplicate item_id {item_id!r} (first on line {first_line[item_id]})",
                )
            first_line[item_id] = line
            if text_cols is not None:
                text = compose_text(row[col[c]] for c in text_cols) or None
            else:
                text = row[col["text"]] if "text" in col else None
                text = text if text and text.strip() else None
            fields: dict[str, str | None] = {"text": text}
            for modality in MEDIA_MODALITIES:
                value = row[col[modality]].strip() if modality in col else ""
                fields[modality] = _resolve_location(value, base) if value else None
            rows.append((line, item_id, fields))

        try:
            ids = coerce_ids([r[1] for r in rows], id_type)
        except ValueError as exc:
            raise DataFormatError(path, None, str(exc)) from None
        if len(set(ids)) != len(ids):  # e.g. "1" and "01" with id_type="int"
            seen: dict[ItemId, int] = {}
            for (line, _, _), coerced in zip(rows, ids, strict=True):
                if coerced in seen:
                    raise DataFormatError(
                        path, line, f"duplicate item_id {coerced!r} (first on line {seen[coerced]})"
                    )
                seen[coerced] = line
        items = [
            ItemContent(
                coerced,
                text=fields["text"],
                image=fields["image"],
                audio=fields["audio"],
                video=fields["video"],
            )
            for (_, _, fields), coerced in zip(rows, ids, strict=True)
        ]
        return cls(items, source=str(path))

    @classmethod
    def from_folder(cls, root: str | Path, *, id_type: str = "auto") -> ContentManifest:
        """Read the folder layout ``root/{text,image,audio,video}/<item_id>.<ext>``.

        Any of the four sub-folders may be absent; at least one must exist. Item ids are the
        file names without extension (converted as ``id_type`` says, see :func:`coerce_ids`)
        and items are ordered by id. Text files are read as UTF-8 now; media files are only
        located. Hidden files are skipped; other files with unknown extensions are skipped
        with a warning that counts them.

        Raises:
            FileNotFoundError: ``root`` or all four sub-folders are absent.
            DataFormatError: two files for one item in one modality (``1.jpg`` and
                ``1.png``), or a text file that is not valid UTF-8.
        """
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"content folder not found: {root}")
        present = [m for m in MODALITIES if (root / m).is_dir()]
        if not present:
            raise FileNotFoundError(
                f"{root} has none of the sub-folders text/, image/, audio/, video/ "
                "(layout: <root>/<modality>/<item_id>.<ext>)"
            )
        found: dict[str, dict[str, Path]] = {}
        skipped: Counter[str] = Counter()
        for modality in present:
            by_stem: dict[str, Path] = {}
            for entry in sorted((root / modality).iterdir()):
                if entry.name.startswith(".") or not entry.is_file():
                    continue
                if entry.suffix.lower() not in EXTENSIONS[modality]:
                    skipped[modality] += 1
                    continue
                if entry.stem in by_stem:
                    raise DataFormatError(
                        entry,
                        None,
                        f"two {modality} files for item {entry.stem!r}: "
                        f"{by_stem[entry.stem].name} and {entry.name}",
                    )
                by_stem[entry.stem] = entry.resolve()
            found[modality] = by_stem
        for modality, n in skipped.items():
            logger.warning(
                "%s/%s: skipped %d file(s) with extensions other than %s",
                root,
                modality,
                n,
                ", ".join(EXTENSIONS[modality]),
            )
        stems = sorted({s for by_stem in found.values() for s in by_stem})
        try:
            ids = coerce_ids(stems, id_type)
        except ValueError as exc:
            raise DataFormatError(root, None, str(exc)) from None
        if len(set(ids)) != len(ids):
            raise DataFormatError(root, None, "two file names map to one item id (e.g. 1 and 01)")
        order = sorted(range(len(ids)), key=lambda i: _sort_key(ids[i]))
        items = []
        for i in order:
            stem, item_id = stems[i], ids[i]
            fields: dict[str, str | None] = {}
            text_path = found.get("text", {}).get(stem)
            if text_path is not None:
                try:
                    text = text_path.read_text(encoding="utf-8")
                except UnicodeDecodeError as exc:
                    raise DataFormatError(
                        text_path, None, f"not valid UTF-8: {exc.reason}"
                    ) from None
                fields["text"] = text if text.strip() else None
            for modality in MEDIA_MODALITIES:
                media_path = found.get(modality, {}).get(stem)
                fields[modality] = str(media_path) if media_path is not None else None
            missing = (
                {"text": EMPTY_TEXT} if text_path is not None and fields["text"] is None else {}
            )
            items.append(ItemContent(item_id, missing=missing, **fields))
        return cls(items, source=str(root))

    @classmethod
    def from_path(cls, path: str | Path, **kwargs: Any) -> ContentManifest:
        """:meth:`from_csv` for a file, :meth:`from_folder` for a directory."""
        path = Path(path)
        if path.is_dir():
            return cls.from_folder(path, **kwargs)
        return cls.from_csv(path, **kwargs)

    def to_csv(self, path: str | Path) -> None:
        """Write ``item_id,text,image,audio,video`` (absolute paths / URLs), readable by
        :meth:`from_csv`. Missing-content reasons are not written."""
        path = Path(path)
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["item_id", *MODALITIES])
            for it in self:
                writer.writerow([it.item_id, *((it.source(m) or "") for m in MODALITIES)])

    # -- downloads ---------------------------------------------------------------------------
    def urls(self, modalities: Iterable[str] = MEDIA_MODALITIES) -> list[tuple[ItemId, str, str]]:
        """``(item_id, modality, url)`` for every media location that is a URL."""
        out = []
        for it in self:
            for m in modalities:
                value = it.source(m)
                if m != "text" and value is not None and is_url(value):
                    out.append((it.item_id, m, value))
        return out

    def fetch(
        self,
        cache_dir: str | Path,
        *,
        modalities: Iterable[str] = MEDIA_MODALITIES,
        timeout: float = 30.0,
        progress: bool = True,
    ) -> ContentManifest:
        """Download URL media into ``cache_dir`` and return a manifest pointing at the files.

        A file already in the cache (named by the URL's sha256) is not downloaded again.
        Downloads go to a temporary file and are renamed into place, so an interrupted
        fetch leaves no half file. A URL that cannot be fetched (HTTP error, network error,
        timeout, empty body) becomes missing with reason ``"download_failed"``; the count is
        logged, and ``meta["download_failures"]`` holds ``{item_id: message}``.
        """
        from sensorec.utils import progress as progress_bar

        cache = Path(cache_dir)
        cache.mkdir(parents=True, exist_ok=True)
        todo = self.urls(modalities)
        updates: dict[ItemId, dict[str, Any]] = {}
        failures: dict[str, str] = {}
        for item_id, modality, url in progress_bar(
            todo, desc="download", total=len(todo), enabled=progress
        ):
            target = cache / _cache_name(url)
            change = updates.setdefault(item_id, {})
            try:
                if not target.exists():
                    _download(url, target, timeout)
                change[modality] = str(target.resolve())
            except (OSError, ValueError, urllib.error.URLError) as exc:
                change[modality] = None
                change.setdefault("missing", {})[modality] = DOWNLOAD_FAILED
                failures[f"{item_id}/{modality}"] = f"{url}: {exc}"
        if failures:
            logger.warning(
                "%d of %d downloads failed (reason download_failed)", len(failures), len(todo)
            )
        items = []
        for it in self:
            change = updates.get(it.item_id, {})
            if change:
                missing = {**it.missing, **change.pop("missing", {})}
                it = replace(it, missing=missing, **change)
            items.append(it)
        meta = {
            **self.meta,
            "download_failures": {**self.meta.get("download_failures", {}), **failures},
        }
        return ContentManifest(items, source=self.source, meta=meta)


def _resolve_location(value: str, base: Path) -> str:
    if is_url(value):
        return value
    p = Path(os.path.expanduser(value))
    if not p.is_absolute():
        p = base / p
    return str(p)


def _cache_name(url: str) -> str:
    digest = hashlib.sha256(url.encode()).hexdigest()[:32]
    suffix = Path(urllib.parse.urlparse(url).path).suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,5}", suffix):
        suffix = ""
    return digest + suffix


def _download(url: str, target: Path, timeout: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "sensorec"})
    fd, tmp = tempfile.mkstemp(prefix=".download-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as resp:
            shutil.copyfileobj(resp, out)
        if os.path.getsize(tmp) == 0:
            raise ValueError("empty response")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
