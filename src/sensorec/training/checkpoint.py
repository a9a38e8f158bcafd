"""Checkpoints: ``model.safetensors`` + ``model.json`` (name, task, config) + vocabularies.

No pickle: tensors go to safetensors, everything else to JSON.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from safetensors.torch import load_file, save_file

from sensorec.data.dataset import Vocabulary
from sensorec.models.base import MODELS, Recommender

FORMAT_VERSION = 1


def save_checkpoint(
    model: Recommender, path: str | Path, extra: Mapping[str, Any] | None = None
) -> Path:
    """Write ``model`` to directory ``path`` (created; files replaced atomically)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tensors = dict(model.state_tensors())
    seen = model.seen.tocsr()
    tensors["__seen_indptr"] = torch.from_numpy(seen.indptr.astype(np.int64))
    tensors["__seen_indices"] = torch.from_numpy(seen.indices.astype(np.int64))
    tmp = path / "model.safetensors.tmp"
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp))
    os.replace(tmp, path / "model.safetensors")
    model.users.save(path / "users.json")
    model.items.save(path / "items.json")
    meta = {
        "format_version": FORMAT_VERSION,
        "model": model.name,
        "task": model.task,
        "config": model.config.to_dict(),
        "modalities": sorted(model.features),
        **dict(extra or {}),
    }
    (path / "model.json").write_text(json.dumps(meta, indent=2))
    return path


def load_checkpoint(
    path: str | Path,
    *,
    device: torch.device | str = "cpu",
    features: Mapping[str, Any] | None = None,
) -> Recommender:
    """Rebuild a model saved by :func:`save_checkpoint`.

    Content models need the same aligned features they were trained with (``features``).
    """
    path = Path(path)
    meta_file = path / "model.json"
    if not meta_file.exists():
        raise FileNotFoundError(f"{meta_file}: not a sensorec checkpoint (model.json missing)")
    meta = json.loads(meta_file.read_text())
    cls = MODELS.get(meta["model"])
    config = cls.config_class.from_dict(meta["config"], source=str(meta_file))
    users = Vocabulary.load(path / "users.json")
    items = Vocabulary.load(path / "items.json")
    model = cls(config, users, items, task=meta.get("task", "ranking"), features=features)
    model.to(torch.device(device))
    state = load_file(str(path / "model.safetensors"))
    indptr = state.pop("__seen_indptr").numpy()
    indices = state.pop("__seen_indices").numpy()
    model.seen = sp.csr_matrix(
        (np.ones(len(indices), np.float32), indices, indptr), shape=(len(users), len(items))
    )
    model.load_state_tensors(state)
    model.to(torch.device(device))
    model.eval_mode()
    return model
