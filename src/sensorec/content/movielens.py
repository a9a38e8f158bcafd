"""Item content for the MovieLens data sets: text from title, year, genres and plots;
posters and trailers by item id.

MovieLens may not be redistributed, and neither may IMDb plot text or studio posters, so
sensorec ships none of them: the user points at files they have.

- **Text** (always): ``"<title> (<year>). Genres: <g1>, <g2>."`` from the dataset's item
  table (columns ``title``, optional ``year`` and ``genres``), e.g. ``"Toy Story (1995).
  Genres: Animation, Children's, Comedy."``; the year is not repeated when the title already
  ends with it, and the placeholder genres ``unknown`` / ``(no genres listed)`` are dropped.
  With a plots file, the item's plot follows.
- **Plots** (``plots=``): a CSV with an id column (``movie_id``, ``item_id`` or
  ``movieId``) holding the *dataset's* item ids and a text column (``description``,
  ``plot``, ``overview`` or ``text``), e.g. the ``movielens100k_details.csv`` scraped from
  IMDb for ML-100K. IMDb's "It looks like we don't have any Plot Summaries" placeholder
  counts as no plot.
- **Posters** (``posters_dir=``) and **trailers** (``trailers_dir=``): files named
  ``<movielens_id>.<ext>``. ML-1M item ids are MovieLens ids; ML-100K has its own ids
  1..1682, so pass ``poster_id_map=`` (used for posters and trailers alike), a CSV mapping
  dataset ids to MovieLens ids (see :func:`read_id_map`).

Counts of what was found are kept in ``ContentManifest.meta``.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sensorec.content.manifest import (
    EXTENSIONS,
    ContentManifest,
    ItemContent,
    ItemId,
    coerce_ids,
    compose_text,
    normalize_item_id,
)
from sensorec.data.errors import DataFormatError

if TYPE_CHECKING:
    from sensorec.data.dataset import Dataset

logger = logging.getLogger("sensorec.content")

NO_ID_MAPPING = "no_id_mapping"  # the item has no MovieLens id in the id map
NOT_FOUND = "no_file"  # no file named after the item in the folder

_PLOT_ID_COLUMNS = ("movie_id", "item_id", "movieId")
_PLOT_TEXT_COLUMNS = ("description", "plot", "overview", "text")
_PLACEHOLDER_PLOTS = ("it looks like we don't have any plot",)
_DROPPED_GENRES = {"unknown", "(no genres listed)"}
_YEAR_AT_END = re.compile(r"\(\s*(\d{4})\s*\)\s*$")

# Column names of the id map made for ML-100K (first choice, then fallback).
_ID_MAP_SOURCE = "ml100k_item_id"
_ID_MAP_TARGETS = ("ml1m_movie_id_by_title", "movielens_id_via_imdb_links")


def movielens_content(
    dataset: Dataset,
    *,
    plots: str | Path | None = None,
    posters_dir: str | Path | None = None,
    poster_id_map: str | Path | None = None,
    trailers_dir: str | Path | None = None,
) -> ContentManifest:
    """Build the content manifest of a MovieLens (or MovieLens-like) dataset.

    Args:
        dataset: a dataset whose ``item_table`` has a ``title`` column (optionally
            ``year`` and ``genres``: a list or a ``|``-separated string).
        plots: plot CSV keyed by the dataset's item ids (see the module docstring).
        posters_dir: folder of ``<movielens_id>.jpg`` (any image extension) posters.
        poster_id_map: CSV mapping dataset item ids to MovieLens ids, for posters and
            trailers; without it the dataset's ids are used as they are.
        trailers_dir: folder of ``<movielens_id>.mp4`` (any video extension) trailers.

    Returns:
        One :class:`ItemContent` per vocabulary item, in vocabulary order. Items without a
        poster carry reason ``"no_id_mapping"`` or ``"no_file"``; ``meta`` counts them.
    """
    table = dataset.item_table
    if table is None or "title" not in table.columns:
        raise ValueError(
            f"dataset {dataset.name!r} has no item table with a 'title' column; "
            "give the content as a CSV or folder instead"
        )
    ids = [normalize_item_id(x) for x in dataset.items.to_list()]
    meta: dict[str, Any] = {"builder": "movielens_content", "n_items": len(ids)}

    plot_text: dict[ItemId, str] = {}
    if plots is not None:
        plot_text, placeholders = read_plots(plots)
        meta["plots"] = {
            "file": str(plots),
            "with_plot": sum(1 for i in ids if i in plot_text),
            "placeholder_skipped": placeholders,
        }
    id_map: dict[ItemId, ItemId] | None = None
    if poster_id_map is not None:
        id_map = read_id_map(poster_id_map)

    titles = table["title"].tolist()
    years = table["year"].tolist() if "year" in table.columns else [None] * len(ids)
    genres = table["genres"].tolist() if "genres" in table.columns else [None] * len(ids)
    posters = _index_folder(posters_dir, "image")
    trailers = _index_folder(trailers_dir, "video")

    items = []
    for pos, item_id in enumerate(ids):
        text = compose_text(
            [
                _title_with_year(titles[pos], years[pos]),
                _genre_sentence(genres[pos]),
                plot_text.get(item_id),
            ]
        )
        fields: dict[str, Any] = {"text": text or None}
        missing: dict[str, str] = {}
        ml_id = item_id if id_map is None else id_map.get(item_id)
        for modality, found in (("image", posters), ("video", trailers)):
            if found is None:
                continue
            if ml_id is None:
                missing[modality] = NO_ID_MAPPING
            elif str(ml_id) in found:
                fields[modality] = str(found[str(ml_id)])
            else:
                missing[modality] = NOT_FOUND
        items.append(ItemContent(item_id, missing=missing, **fields))
    manifest = ContentManifest(items, source=f"movielens:{dataset.name}", meta=meta)
    for modality, folder in (("image", posters_dir), ("video", trailers_dir)):
        if folder is not None:
            found_n = manifest.coverage()[modality]
            manifest.meta[modality] = {
                "folder": str(folder),
                "found": found_n,
                **manifest.missing_counts(modality),
            }
            logger.info(
                "%s: %d of %d items have a %s file", dataset.name, found_n, len(ids), modality
            )
    return manifest


def _read_header(reader: Any, path: Path) -> list[str]:
    """The stripped header row of a CSV reader; ``DataFormatError`` when empty or malformed."""
    try:
        return [h.strip() for h in next(reader)]
    except StopIteration:
        raise DataFormatError(path, 1, "empty file: expected a header row") from None
    except csv.Error as exc:
        raise DataFormatError(path, reader.line_num, f"bad CSV: {exc}") from None


def read_plots(path: str | Path) -> tuple[dict[ItemId, str], int]:
    """Read a plot CSV. Returns ``({item_id: plot}, n_placeholders_skipped)``.

    Raises:
        DataFormatError: no id or text column, a row with the wrong number of fields, or
            a duplicate id with a different plot.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"plots file not found: {path}")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, strict=True)
        header = _read_header(reader, path)
        id_col = next((c for c in _PLOT_ID_COLUMNS if c in header), None)
        text_col = next((c for c in _PLOT_TEXT_COLUMNS if c in header), None)
        if id_col is None or text_col is None:
            raise DataFormatError(
                path,
                1,
                f"need an id column (one of {_PLOT_ID_COLUMNS}) and a text column "
                f"(one of {_PLOT_TEXT_COLUMNS}); header is {header}",
            )
        i_id, i_text = header.index(id_col), header.index(text_col)
        raw: list[tuple[int, str, str]] = []
        try:
            for row in reader:
                if not row:
                    continue
                if len(row) != len(header):
                    raise DataFormatError(
                        path, reader.line_num, f"expected {len(header)} fields, found {len(row)}"
                    )
                raw.append((reader.line_num, row[i_id].strip(), row[i_text]))
        except csv.Error as exc:
            raise DataFormatError(path, reader.line_num, f"bad CSV: {exc}") from None
    ids = coerce_ids([r[1] for r in raw], "auto")
    out: dict[ItemId, str] = {}
    placeholders = 0
    for (line, _, text), item_id in zip(raw, ids, strict=True):
        text = " ".join(text.split())
        if not text:
            continue
        if text.lower().startswith(_PLACEHOLDER_PLOTS):
            placeholders += 1
            continue
        if item_id in out and out[item_id] != text:
            raise DataFormatError(path, line, f"item {item_id!r} has two different plots")
        out[item_id] = text
    return out, placeholders


def read_id_map(path: str | Path) -> dict[ItemId, ItemId]:
    """Read a dataset-id -> MovieLens-id map.

    Two layouts are understood:

    - the ML-100K map with columns ``ml100k_item_id``, ``ml1m_movie_id_by_title`` and
      ``movielens_id_via_imdb_links``: the title-matched id is used, and the IMDb-derived
      one only where title matching found none (the IMDb scrape is wrong for about 2% of
      films, title matching is the more reliable of the two);
    - any other CSV: the first column is the dataset id, the second the MovieLens id.

    Empty target cells mean "no mapping".
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"id map not found: {path}")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, strict=True)
        header = _read_header(reader, path)
        if _ID_MAP_SOURCE in header and _ID_MAP_TARGETS[0] in header:
            src = header.index(_ID_MAP_SOURCE)
            targets = [header.index(c) for c in _ID_MAP_TARGETS if c in header]
        elif len(header) >= 2:
            src, targets = 0, [1]
        else:
            raise DataFormatError(path, 1, f"need at least two columns, header is {header}")
        pairs: list[tuple[int, str, str]] = []
        try:
            for row in reader:
                if not row:
                    continue
                if len(row) != len(header):
                    raise DataFormatError(
                        path, reader.line_num, f"expected {len(header)} fields, found {len(row)}"
                    )
                target = next((row[t].strip() for t in targets if row[t].strip()), "")
                pairs.append((reader.line_num, row[src].strip(), target))
        except csv.Error as exc:
            raise DataFormatError(path, reader.line_num, f"bad CSV: {exc}") from None
    sources = coerce_ids([p[1] for p in pairs], "auto")
    mapped = [p for p in pairs if p[2]]
    target_ids = iter(coerce_ids([p[2] for p in mapped], "auto"))
    out: dict[ItemId, ItemId] = {}
    for (line, _, target), source in zip(pairs, sources, strict=True):
        if source in out:
            raise DataFormatError(path, line, f"id {source!r} is mapped twice")
        if target:
            out[source] = next(target_ids)
    return out


def _title_with_year(title: Any, year: Any) -> str:
    text = "" if _is_null(title) else " ".join(str(title).split())
    if _is_null(year):
        return text
    year_int = int(float(year))
    match = _YEAR_AT_END.search(text)
    if match and int(match.group(1)) == year_int:
        return text
    return f"{text} ({year_int})" if text else str(year_int)


def _genre_sentence(genres: Any) -> str | None:
    if not isinstance(genres, (list, tuple, np.ndarray)) and _is_null(genres):
        return None
    if isinstance(genres, str):
        items: Iterable[Any] = genres.split("|")
    elif isinstance(genres, (list, tuple, np.ndarray)):
        items = genres
    else:
        raise TypeError(
            f"genres must be a list or a '|'-separated string, got {type(genres).__name__}"
        )
    names = [str(g).strip() for g in items]
    names = [g for g in names if g and g.lower() not in _DROPPED_GENRES]
    return f"Genres: {', '.join(names)}" if names else None


def _is_null(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return value is None or bool(np.ndim(value) == 0 and pd.isna(value))


def _index_folder(folder: str | Path | None, modality: str) -> dict[str, Path] | None:
    """``{stem: path}`` of the media files of ``modality`` in ``folder``."""
    if folder is None:
        return None
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{modality} folder not found: {folder}")
    out: dict[str, Path] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.suffix.lower() not in EXTENSIONS[modality]:
            continue
        if entry.stem in out:
            raise DataFormatError(entry, None, f"two {modality} files for id {entry.stem!r}")
        out[entry.stem] = entry.resolve()
    return out
