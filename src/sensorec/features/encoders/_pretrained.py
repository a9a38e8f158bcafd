"""Shared pieces of the pretrained (Hugging Face) encoders: config fields, loading with a
clear offline error, weights fingerprints, batching."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import torch

from sensorec.features.base import Encoder, EncoderConfig
from sensorec.utils import resolve_device

logger = logging.getLogger("sensorec.features")

T = TypeVar("T")
M = TypeVar("M", bound=torch.nn.Module)


class ModelLoadError(RuntimeError):
    """Pretrained weights (or their tokenizer / processor) could not be loaded."""


class PretrainedEncoderConfig(EncoderConfig):
    """Fields of every encoder backed by pretrained weights.

    ``model`` is a hub name (needs internet the first time, then the local HF cache) or a
    local directory written by ``save_pretrained``; ``revision`` pins a hub branch, tag or
    commit (ignored for local directories, whose files are hashed instead).
    """

    model: str
    revision: str | None = None


PC = TypeVar("PC", bound=PretrainedEncoderConfig)


def is_local_dir(model: str) -> bool:
    return Path(model).expanduser().is_dir()


def load_pretrained(
    loader: Callable[..., T], model: str, revision: str | None, what: str, **kwargs: Any
) -> T:
    """Call ``loader(model, revision=..., **kwargs)`` (a ``from_pretrained``), turning any
    failure into :class:`ModelLoadError` that says what to do offline."""
    local = is_local_dir(model)
    source = str(Path(model).expanduser()) if local else model
    if not local and revision is not None:
        kwargs = {**kwargs, "revision": revision}
    try:
        return loader(source, **kwargs)
    except Exception as exc:
        hint = (
            "check that the directory holds the files written by save_pretrained"
            if local
            else "hub names need internet access (or a filled Hugging Face cache); offline, "
            "pass a local directory holding the model (written by save_pretrained) as `model`"
        )
        raise ModelLoadError(
            f"could not load the {what} from {model!r}"
            + (f" at revision {revision!r}" if revision and not local else "")
            + f": {type(exc).__name__}: {exc}. {hint}"
        ) from exc


_HASH_LOCK = threading.Lock()
_HASH_CACHE: dict[tuple[Any, ...], str] = {}


def directory_sha256(root: str | Path) -> str:
    """sha256 over every file under ``root`` (relative path + content), skipping hidden files
    and Markdown (model cards). Cached by (path, size, mtime) of the files, so re-hashing an
    unchanged directory is free."""
    root = Path(root).expanduser().resolve()
    files = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or p.suffix.lower() == ".md":
            continue
        if p.is_file():
            st = p.stat()
            files.append((rel.as_posix(), st.st_size, st.st_mtime_ns, p))
    key = (str(root), tuple(f[:3] for f in files))
    with _HASH_LOCK:
        cached = _HASH_CACHE.get(key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    for name, size, _, p in files:
        digest.update(f"{name}\0{size}\0".encode())
        with open(p, "rb") as fh:
            for block in iter(partial(fh.read, 1 << 20), b""):
                digest.update(block)
    value = digest.hexdigest()
    with _HASH_LOCK:
        _HASH_CACHE[key] = value
    return value


def _hub_snapshot(model: str, revision: str | None) -> Path | None:
    """The local snapshot directory of a hub model already in the HF cache, if any."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        return None
    for filename in ("config.json", "modules.json"):
        try:
            found = try_to_load_from_cache(model, filename, revision=revision)
        except Exception:  # not a valid repo id: nothing cached under it
            return None
        if isinstance(found, str):
            return Path(found).parent
    return None


def weights_fingerprint(model: str, revision: str | None) -> dict[str, Any]:
    """What identifies the weights: ``{"source": "local", "sha256": ...}`` for a directory;
    ``{"source": "hub", "model", "revision", "commit", "sha256"}`` for a hub name (commit and
    hash of the cached snapshot when it can be found)."""
    if is_local_dir(model):
        return {"source": "local", "sha256": directory_sha256(model)}
    info: dict[str, Any] = {"source": "hub", "model": model, "revision": revision}
    snapshot = _hub_snapshot(model, revision)
    if snapshot is not None:
        info["commit"] = snapshot.name
        info["sha256"] = directory_sha256(snapshot)
    return info


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    if size < 1:
        raise ValueError(f"batch_size must be >= 1, got {size}")
    for start in range(0, len(items), size):
        yield items[start : start + size]


class PretrainedEncoder(Encoder[PC]):
    """Base of the torch encoders: resolves the device, adds the weights to ``fingerprint``."""

    #: Bump when the way features are computed from the model output changes.
    code_version: int = 1
    #: Directory or hub name whose files identify the weights (``config.model`` by default).
    _weights_source: str

    def __init__(self, config: PC) -> None:
        super().__init__(config)
        self.device = resolve_device(config.device)
        self._weights_source = config.model
        self._weights_info: dict[str, Any] | None = None

    def fingerprint(self) -> dict[str, Any]:
        if self._weights_info is None:
            self._weights_info = weights_fingerprint(self._weights_source, self.config.revision)
        return {
            **super().fingerprint(),
            "code_version": self.code_version,
            "weights": self._weights_info,
        }


def eval_on_device(model: M, device: torch.device) -> M:
    """``model.to(device).eval()``, typed through ``torch.nn.Module``.

    Transformers wraps ``PreTrainedModel.to`` in ``functools.wraps``, which the type stubs
    describe as an unbound function, so calling it on a model directly does not type-check.
    """
    return model.to(device).eval()


def config_int(config: Any, *path: str) -> int:
    """An integer field of a transformers config, following ``path`` through sub-configs
    (``config_int(cfg, "vision_config", "image_size")``).

    Transformers types many fields loosely (``int | None``, ``dict | SubConfig | None``);
    this reads them as the loaded model has them and fails clearly when one is not an int.
    """
    value = config
    try:
        for name in path:
            value = getattr(value, name)
        return int(value)
    except (AttributeError, TypeError, ValueError) as exc:
        raise ModelLoadError(
            f"model config field {'.'.join(path)} is missing or not an integer "
            f"({type(exc).__name__}: {exc})"
        ) from exc


def l2_normalize(x: torch.Tensor) -> torch.Tensor:
    """Row-wise L2 normalisation; zero rows stay zero. ``[B, D] -> [B, D]``."""
    return torch.nn.functional.normalize(x, p=2.0, dim=-1)
