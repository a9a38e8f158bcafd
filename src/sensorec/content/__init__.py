"""Item content: where each item's text, image, audio and video are.

See :mod:`sensorec.content.manifest` for the manifest and its readers, and
:mod:`sensorec.content.movielens` for MovieLens titles, plots, posters and trailers.
"""

from __future__ import annotations

from sensorec.content.manifest import (
    DOWNLOAD_FAILED,
    EMPTY_TEXT,
    MODALITIES,
    NO_CONTENT,
    NOT_DOWNLOADED,
    NOT_IN_MANIFEST,
    ContentManifest,
    ItemContent,
    compose_text,
    is_url,
)
from sensorec.content.movielens import movielens_content, read_id_map, read_plots

__all__ = [
    "DOWNLOAD_FAILED",
    "EMPTY_TEXT",
    "MODALITIES",
    "NOT_DOWNLOADED",
    "NOT_IN_MANIFEST",
    "NO_CONTENT",
    "ContentManifest",
    "ItemContent",
    "compose_text",
    "is_url",
    "movielens_content",
    "read_id_map",
    "read_plots",
]
