"""Small shared helpers: device resolution, random generators, logging, progress bars."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from typing import TypeVar

import numpy as np
import torch

T = TypeVar("T")

logger = logging.getLogger("sensorec")


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """Pick the torch device. Precedence: argument > env ``SENSOREC_DEVICE`` > ``cpu``.

    ``"auto"`` means CUDA when available, else CPU. Asking for CUDA where there is none is an
    error, not a silent fallback.
    """
    if device is None:
        device = os.environ.get("SENSOREC_DEVICE", "cpu")
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} was asked for but CUDA is not available")
    return dev


def numpy_rng(seed: int | np.random.Generator) -> np.random.Generator:
    """A numpy Generator from a seed (or the generator itself)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def torch_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return gen


def progress(
    iterable: Iterable[T], *, desc: str = "", total: int | None = None, enabled: bool | None = None
) -> Iterator[T]:
    """The one progress facility (tqdm). Disabled when ``SENSOREC_PROGRESS=0``."""
    from tqdm.auto import tqdm

    if enabled is None:
        enabled = os.environ.get("SENSOREC_PROGRESS", "1") != "0"
    yield from tqdm(iterable, desc=desc, total=total, disable=not enabled, leave=False)
