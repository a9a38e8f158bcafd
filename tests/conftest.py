"""Shared fixtures. Tests that read the workplace's shared data go through ``shared_data``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(int(os.environ.get("SENSOREC_TEST_THREADS", "1")))
os.environ.setdefault("SENSOREC_PROGRESS", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

_CANDIDATES = [
    os.environ.get("SENSOREC_SHARED_DATA"),
    str(Path(__file__).resolve().parents[1].parent / "shared" / "data"),
    str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data"),
]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder with ``ml-100k/``, ``ml-1m-partial/``, ``movielens-content/``.

    Looked up in ``$SENSOREC_SHARED_DATA``, then ``../shared/data`` beside the repository.
    Skips (with the reason) when absent: MovieLens may not be redistributed, so the
    repository never holds it.
    """
    for cand in _CANDIDATES:
        if cand and (Path(cand) / "ml-100k" / "u.data").exists():
            return Path(cand).resolve()
    pytest.skip(
        "shared MovieLens data not found (set SENSOREC_SHARED_DATA or place ../shared/data "
        "beside the repository)"
    )
