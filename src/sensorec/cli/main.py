"""The ``sensorec`` command line: thin typer commands over the public API."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="sensorec: multisensory recommendation.", no_args_is_help=True, add_completion=False
)
data_app = typer.Typer(help="Inspect data sets.", no_args_is_help=True)
features_app = typer.Typer(help="Extract and inspect item content features.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(features_app, name="features")
console = Console()


def _table(title: str, header: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title)
    for h in header:
        table.add_column(h, justify="left" if h == "model" else "right", no_wrap=h == "model")
    for row in rows:
        table.add_row(*row)
    return table


def _parse_features(values: list[str]) -> dict[str, str]:
    out = {}
    for v in values:
        if "=" not in v:
            raise typer.BadParameter(f"--features {v!r} must be MODALITY=STORE_DIR")
        mod, path = v.split("=", 1)
        out[mod.strip()] = path.strip()
    return out


@app.callback()
def main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details."),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


@data_app.command("describe")
def data_describe(
    dataset: str = typer.Argument(..., help="synthetic | ml-100k | ml-1m | path to a table"),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Folder holding the data set (else $SENSOREC_DATA)."
    ),
) -> None:
    """Print statistics of a data set."""
    from sensorec.data.sources import load_dataset

    stats = load_dataset(dataset, data_dir).describe()
    console.print_json(json.dumps(stats))


@app.command("train")
def train(
    model: str | None = typer.Option(
        None, "--model", help="Model name (see `sensorec models`); default bprmf."
    ),
    dataset: str | None = typer.Option(
        None, "--dataset", help="synthetic (default) | ml-100k | ml-1m | path"
    ),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Data folder (else $SENSOREC_DATA, else the user cache)."
    ),
    split: str | None = typer.Option(
        None, "--split", help="loo (default) | ratio | random | temporal"
    ),
    task: str | None = typer.Option(None, "--task", help="ranking (default) | rating"),
    config: Path | None = typer.Option(
        None, "--config", help="YAML experiment file; flags override it."
    ),
    seed: int | None = typer.Option(None, "--seed"),
    device: str | None = typer.Option(
        None, "--device", help="cpu | cuda | auto (default: $SENSOREC_DEVICE or cpu)"
    ),
    features: list[str] = typer.Option([], "--features", help="MODALITY=STORE_DIR (repeatable)."),
    set_: list[str] = typer.Option(
        [], "--set", help="Dotted override, e.g. train.lr=0.001 (repeatable)."
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Run folder: metrics.json, checkpoint/."
    ),
) -> None:
    """Train a model, select it on validation, evaluate the test split once."""
    from sensorec.config import parse_override
    from sensorec.experiments.compare import default_spec, results_table
    from sensorec.experiments.runner import run_experiment
    from sensorec.experiments.spec import ExperimentSpec

    flags: dict[str, Any] = {
        "data.name": dataset,
        "data.data_dir": str(data_dir) if data_dir else None,
        "split.name": split,
        "task": task,
        "seed": seed,
        "device": device,
        "features": _parse_features(features) or None,
    }
    given = {k: v for k, v in flags.items() if v is not None}
    if config is not None:
        spec = ExperimentSpec.from_yaml(config)
        if model is not None:
            given["model"] = model
    else:
        spec = default_spec(model or "bprmf")
    given.update(parse_override(s) for s in set_)
    if given:
        spec = spec.with_overrides(given)
    run = run_experiment(spec, output)
    header, rows = results_table([run])
    title = f"{spec.model} on {spec.data.name} ({run.metrics['protocol']['candidates']} ranking, test split)"
    console.print(_table(title, header, rows))
    console.print(f"wrote {output / 'metrics.json'}")


@app.command("run")
def run(
    config: Path = typer.Argument(..., help="YAML experiment file."),
    output: Path = typer.Option(..., "--output", "-o"),
    set_: list[str] = typer.Option([], "--set", help="Dotted override (repeatable)."),
) -> None:
    """Run an experiment described by a YAML file."""
    from sensorec.config import parse_override
    from sensorec.experiments.compare import results_table
    from sensorec.experiments.runner import run_experiment
    from sensorec.experiments.spec import ExperimentSpec

    spec = ExperimentSpec.from_yaml(config, dict(parse_override(s) for s in set_))
    result = run_experiment(spec, output)
    header, rows = results_table([result])
    console.print(_table(spec.name or spec.model, header, rows))


@app.command("compare")
def compare(
    models: str = typer.Option("pop,bprmf,neumf", "--models", help="Comma-separated model names."),
    dataset: str = typer.Option("synthetic", "--dataset"),
    data_dir: Path | None = typer.Option(None, "--data-dir"),
    split: str = typer.Option("loo", "--split"),
    task: str = typer.Option("ranking", "--task"),
    seed: int = typer.Option(0, "--seed"),
    device: str | None = typer.Option(None, "--device"),
    output: Path | None = typer.Option(None, "--output", "-o"),
) -> None:
    """Train several models on the same split and print a comparison table (`make demo`)."""
    from sensorec.experiments.compare import compare_models, results_table

    runs = compare_models(
        [m.strip() for m in models.split(",") if m.strip()],
        output,
        data={"name": dataset, "data_dir": str(data_dir) if data_dir else None},
        split={"name": split},
        task=task,
        seed=seed,
        device=device,
    )
    header, rows = results_table(runs)
    proto = runs[0].metrics["protocol"]
    console.print(
        _table(
            f"{dataset}: split={split}, candidates={proto['candidates']}, seed={seed} (test split)",
            header,
            rows,
        )
    )


@app.command("demo")
def demo(
    dataset: str = typer.Option("synthetic", "--dataset"),
    data_dir: Path | None = typer.Option(None, "--data-dir"),
    models: str = typer.Option("pop,bprmf,neumf", "--models"),
    seed: int = typer.Option(0, "--seed"),
    features: list[str] = typer.Option(
        [], "--features", help="MODALITY=STORE_DIR for the content model."
    ),
    output: Path = typer.Option(Path("runs/demo"), "--output", "-o"),
) -> None:
    """The end-to-end example behind `make demo`: media -> features -> stores -> models -> table."""
    from sensorec.experiments.compare import results_table
    from sensorec.experiments.demo import run_demo

    result = run_demo(
        dataset,
        data_dir,
        [m.strip() for m in models.split(",") if m.strip()],
        output,
        seed,
        features=_parse_features(features) or None,
    )
    if result.stores:
        rows = [
            [m, s["encoder"], str(s["n_items"]), str(s["dim"]), f"{s['coverage']:.2%}"]
            for m, s in result.stores.items()
        ]
        console.print(
            _table("feature stores", ["modality", "encoder", "items", "dim", "coverage"], rows)
        )
    header, rows = results_table(result.runs)
    for row, run in zip(rows, result.runs, strict=True):
        if run.spec.features:
            row[0] += " (" + "+".join(sorted(run.spec.features)) + ")"
    proto = result.runs[0].metrics["protocol"]
    title = f"{dataset}: leave-one-out, {proto['candidates']} ranking, seed {seed} (test split)"
    console.print(_table(title, header, rows))


@app.command("evaluate")
def evaluate(
    run_dir: Path = typer.Argument(..., help="A run folder written by `sensorec train`."),
) -> None:
    """Print the stored metrics of a run."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    console.print_json(
        json.dumps(
            {"valid": metrics["valid"], "test": metrics["test"], "protocol": metrics["protocol"]}
        )
    )


@app.command("models")
def models() -> None:
    """List registered models and what they accept."""
    from sensorec.models import MODELS

    rows = []
    for name in MODELS.names():
        cls = MODELS.get(name)
        rows.append([name, ",".join(cls.tasks), ",".join(cls.modalities) or "-"])
    console.print(_table("models", ["model", "tasks", "modalities"], rows))


@features_app.command("extract")
def features_extract(
    dataset: str = typer.Option(..., "--dataset"),
    modality: str = typer.Option(..., "--modality", help="text | image | audio | video"),
    encoder: str = typer.Option(
        ..., "--encoder", help="NAME[:MODEL], e.g. sbert, clip:openai/clip-vit-base-patch32"
    ),
    content: Path | None = typer.Option(None, "--content", help="Content CSV or folder."),
    data_dir: Path | None = typer.Option(None, "--data-dir"),
    plots: Path | None = typer.Option(None, "--plots", help="MovieLens plots CSV."),
    posters: Path | None = typer.Option(None, "--posters", help="Folder of <item id>.jpg posters."),
    batch_size: int | None = typer.Option(None, "--batch-size"),
    device: str | None = typer.Option(None, "--device"),
    out: Path = typer.Option(..., "--out"),
) -> None:
    """Encode item content into a feature store."""
    from sensorec.features.api import extract, format_inspection, inspect_store

    store = extract(
        dataset,
        modality,
        encoder,
        out,
        content=content,
        data_dir=data_dir,
        plots=plots,
        posters=posters,
        batch_size=batch_size,
        device=device,
    )
    console.print(format_inspection(inspect_store(store.path)))


@features_app.command("inspect")
def features_inspect(store_dir: Path = typer.Argument(...)) -> None:
    """Show item count, dimension, coverage, quality histogram and manifest of a store."""
    from sensorec.features.api import format_inspection, inspect_store

    console.print(format_inspection(inspect_store(store_dir)))


if __name__ == "__main__":
    app()
