"""Seconds per training epoch on ML-100K leave-one-out (the split RecBole is compared on).

    python bench/epoch_speed.py [--threads 1] [--epochs 5]

Times only the training pass of the one training loop (batches, loss, backward, step; no
validation), median over ``--epochs`` epochs after one warm-up epoch. Writes
``bench/results/epoch_speed.json``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, shared_data_dir, write_json
from sensorec.data.movielens import load_movielens
from sensorec.data.splitting import leave_one_out
from sensorec.experiments.compare import DEFAULT_MODEL_CONFIGS, DEFAULT_TRAIN
from sensorec.models import MODELS
from sensorec.training.loop import TrainConfig, fit

CASES = [
    ("bprmf", {}, {}),
    ("neumf", {}, {}),
    ("neumf", {"n_neg": 1}, {"batch_size": 2048}),  # RecBole's NeuMF setting: 1 negative
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ds = load_movielens("ml-100k", data_dir=shared_data_dir())
    split = leave_one_out(ds)
    rows = []
    for name, params, train in CASES:
        cls = MODELS.get(name)
        cfg = cls.config_class.from_dict({**DEFAULT_MODEL_CONFIGS[name], **params})
        tcfg = TrainConfig.from_dict({**DEFAULT_TRAIN[name], **train, "epochs": 1})
        model = cls(cfg, ds.users, ds.items)
        model.prepare(split.train, seed=0, device=torch.device("cpu"), batch_size=tcfg.batch_size)
        fit(model, tcfg, seed=0, show_progress=False)  # warm-up
        times = []
        for e in range(args.epochs):
            t0 = time.perf_counter()
            fit(model, tcfg, seed=e + 1, show_progress=False)
            times.append(time.perf_counter() - t0)
        row = {
            "model": name,
            "params": cfg.to_dict(),
            "batch_size": tcfg.batch_size,
            "examples_per_epoch": len(split.train)
            * (1 + cfg.to_dict().get("n_neg", 1) if name == "neumf" else 1),
            "s_per_epoch_median": statistics.median(times),
            "s_per_epoch_min": min(times),
        }
        rows.append(row)
        print(
            f"{name} {params} batch {tcfg.batch_size}: {row['s_per_epoch_median']:.3f} s/epoch",
            flush=True,
        )
    write_json(
        "epoch_speed.json",
        {
            "benchmark": "epoch_speed",
            "command": "python bench/epoch_speed.py " + " ".join(sys.argv[1:]),
            "machine": machine(),
            "threads": args.threads,
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
