"""Foundation benchmark: pop, bprmf, neumf (LOO, full ranking) and biasedmf (RMSE).

    python bench/foundation.py --dataset ml-100k --seeds 0 1 2
    python bench/foundation.py --dataset ml-1m-partial --seeds 0

Writes ``bench/results/foundation_<dataset>.json``. ML-100K reads ``<data>/ml-100k``;
``ml-1m-partial`` reads ``<data>/ml-1m-partial/ml-1m`` (89% of ML-1M's ratings with their
genuine timestamps). ``<data>`` is ``$SENSOREC_DATA`` or ``../shared/data``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, shared_data_dir, write_json
from sensorec.experiments.compare import default_spec
from sensorec.experiments.runner import run_experiment


def data_spec(dataset: str) -> dict[str, Any]:
    root = shared_data_dir()
    if dataset == "ml-100k":
        return {"name": "ml-100k", "data_dir": str(root)}
    if dataset == "ml-1m-partial":
        return {"name": "ml-1m", "data_dir": str(root / "ml-1m-partial")}
    raise SystemExit(f"unknown dataset {dataset}")


def summarise(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=float)
    out = {"mean": float(arr.mean()), "n": len(arr)}
    if len(arr) > 1:
        from scipy import stats

        half = stats.t.ppf(0.975, len(arr) - 1) * arr.std(ddof=1) / np.sqrt(len(arr))
        out["ci95"] = float(half)
        out["std"] = float(arr.std(ddof=1))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="ml-100k")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--models", nargs="+", default=["pop", "bprmf", "neumf"])
    ap.add_argument(
        "--rating", action="store_true", help="also run biasedmf on a random 80/20 split"
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--out", default=None, help="result file name (default foundation_<dataset>.json)"
    )
    ap.add_argument(
        "--set", nargs="*", default=[], help="model.key=value overrides, e.g. neumf.train.epochs=30"
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    overrides: dict[str, dict[str, Any]] = {}
    for item in args.set:
        key, value = item.split("=", 1)
        model, section, field = key.split(".", 2)
        overrides.setdefault(model, {}).setdefault(section, {})[field] = type_value(value)
    data = data_spec(args.dataset)
    runs: dict[str, Any] = {}
    for model in args.models:
        per_seed = []
        for seed in args.seeds:
            spec = default_spec(
                model, data=data, split={"name": "loo"}, seed=seed, **overrides.get(model, {})
            )
            t0 = time.perf_counter()
            run = run_experiment(spec)
            m = run.metrics
            per_seed.append(
                {
                    "seed": seed,
                    "test": m["test"],
                    "valid": m["valid"],
                    "timing": m["timing"],
                    "config": m["config"]["model"],
                    "train": m["config"]["experiment"]["train"],
                    "wall_s": time.perf_counter() - t0,
                }
            )
            print(
                f"{args.dataset} {model} seed {seed}: ndcg@10={m['test']['ndcg@10']:.4f} "
                f"hr@10={m['test']['hr@10']:.4f} epochs={m['timing']['epochs']} "
                f"s/epoch={m['timing']['s_per_epoch']:.3f}",
                flush=True,
            )
        runs[model] = {
            "per_seed": per_seed,
            "summary": {
                k: summarise([r["test"][k] for r in per_seed])
                for k in ("ndcg@10", "hr@10", "recall@10", "mrr@10")
            },
            "s_per_epoch": summarise([r["timing"]["s_per_epoch"] for r in per_seed]),
        }
        protocol = m["protocol"]
    payload: dict[str, Any] = {
        "benchmark": "foundation",
        "dataset": args.dataset,
        "command": "python bench/foundation.py " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "protocol": protocol,
        "seeds": args.seeds,
        "ranking": runs,
    }
    if args.rating:
        per_seed = []
        for seed in args.seeds:
            spec = default_spec(
                "biasedmf",
                data=data,
                split={"name": "random", "params": {"ratios": [0.8, 0.2], "valid_ratio": 0.1}},
                task="rating",
                seed=seed,
                **overrides.get("biasedmf", {}),
            )
            m = run_experiment(spec).metrics
            per_seed.append(
                {
                    "seed": seed,
                    "test": {"rmse": m["test"]["rmse"], "mae": m["test"]["mae"]},
                    "valid": {k: m["valid"][k] for k in ("rmse", "mae")},
                    "timing": m["timing"],
                    "protocol": {k: m["protocol"][k] for k in ("split", "split_params")},
                }
            )
            print(
                f"{args.dataset} biasedmf seed {seed}: rmse={m['test']['rmse']:.4f} mae={m['test']['mae']:.4f}",
                flush=True,
            )
        payload["rating"] = {
            "biasedmf": {
                "per_seed": per_seed,
                "summary": {
                    k: summarise([r["test"][k] for r in per_seed]) for k in ("rmse", "mae")
                },
            }
        }
    path = write_json(args.out or f"foundation_{args.dataset}.json", payload)
    print(f"wrote {path}")


def type_value(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)


if __name__ == "__main__":
    main()
