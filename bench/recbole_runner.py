"""Run one RecBole model and write its numbers as JSON. Runs INSIDE the RecBole venv.

This script imports RecBole, never sensorec: ``bench/recbole_compare.py`` calls it with
``bench/.recbole-venv/bin/python`` (see that file for how the venv is built). It mirrors
``recbole.quick_start.run_recbole`` step by step (config, seed, dataset, data preparation,
seed again, model, FLOPs probe, trainer, fit, test with the best checkpoint) and adds timing:
``Trainer._train_epoch`` and ``Trainer._valid_epoch`` are wrapped with a wall clock, so
``train_s_per_epoch`` is the same interval RecBole logs as ``epoch N training [time: ...]``
(batching, negative sampling, forward, backward, optimiser step).

Two data modes:

- ``--mode presplit``: atomic files ``<data-path>/<dataset>/<dataset>.{train,valid,test}.inter``
  loaded with ``benchmark_filename: [train, valid, test]``; RecBole keeps the three parts as
  given (no filtering, no re-splitting).
- ``--mode loo``: one ``<dataset>.inter`` split by RecBole itself with
  ``eval_args: {split: {LS: valid_and_test}, order: TO, group_by: user, mode: full}``.
  Note that for ``--dataset ml-100k`` RecBole ignores ``data_path`` and reads the copy of
  ML-100K bundled in the package (``recbole/dataset_example/ml-100k``) with
  ``recbole/properties/dataset/ml-100k.yaml``.

Usage (from a scratch directory: RecBole writes ``./log/`` and ``./log_tensorboard/`` there):

    TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 OMP_NUM_THREADS=1 \
    bench/.recbole-venv/bin/python bench/recbole_runner.py --model BPR --mode presplit \
        --data-path DIR --dataset ml100k-sensorec --out result.json [--dump-split DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="RecBole model name: Pop, BPR, NeuMF, ...")
    p.add_argument("--mode", choices=("presplit", "loo"), required=True)
    p.add_argument("--data-path", required=True, help="folder holding <dataset>/")
    p.add_argument("--dataset", required=True)
    p.add_argument("--out", required=True, help="JSON result file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--checkpoint-dir", default="saved")
    p.add_argument("--dump-split", default=None, help="write the parts RecBole used (raw ids) here")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="extra config entry, value parsed as JSON (e.g. epochs=2, train_neg_sample_args=null)",
    )
    return p.parse_args(argv)


def build_config_dict(args: argparse.Namespace) -> dict[str, Any]:
    """The config dictionary given to ``recbole.config.Config`` (everything else: defaults)."""
    cfg: dict[str, Any] = {
        "data_path": args.data_path,
        "checkpoint_dir": args.checkpoint_dir,
        "seed": args.seed,
        "reproducibility": True,
        "use_gpu": False,
        "gpu_id": "",
        "worker": 0,
        "show_progress": False,
        "save_dataset": False,
        "save_dataloaders": False,
        "load_col": {"inter": ["user_id", "item_id", "rating", "timestamp"]},
        "metrics": ["NDCG", "Hit", "Recall", "MRR"],
        "topk": [10],
        "valid_metric": "NDCG@10",
    }
    if args.mode == "presplit":
        cfg["benchmark_filename"] = ["train", "valid", "test"]
        # ``split`` and ``order`` are not used when benchmark_filename is set
        # (Dataset.build returns the three files as they are); ``mode`` is.
        cfg["eval_args"] = {"group_by": "user", "order": "TO", "mode": "full"}
    else:
        cfg["eval_args"] = {
            "split": {"LS": "valid_and_test"},
            "group_by": "user",
            "order": "TO",
            "mode": "full",
        }
    for item in args.set:
        key, sep, raw = item.partition("=")
        if not sep:
            raise SystemExit(f"--set expects KEY=JSON, got {item!r}")
        cfg[key] = json.loads(raw)
    return cfg


def _jsonable(value: Any) -> Any:
    """Config values as JSON (enums and devices as strings)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _dump_parts(dataset: Any, parts: dict[str, Any], folder: Path) -> dict[str, int]:
    """Write each part's (raw user id, raw item id) rows to ``folder/<part>.tsv``."""
    folder.mkdir(parents=True, exist_ok=True)
    uf, itf = dataset.uid_field, dataset.iid_field
    sizes = {}
    for name, part in parts.items():
        users = dataset.id2token(uf, part.inter_feat[uf].numpy())
        items = dataset.id2token(itf, part.inter_feat[itf].numpy())
        lines = ["user_id\titem_id"] + [f"{u}\t{i}" for u, i in zip(users, items, strict=True)]
        (folder / f"{name}.tsv").write_text("\n".join(lines) + "\n")
        sizes[name] = len(users)
    return sizes


def check_masks(
    parts: dict[str, Any], loaders: dict[str, Any], uid_field: str, iid_field: str
) -> dict[str, Any]:
    """Compare what RecBole's full-sort loaders mask (``uid2history_item``) with the union of
    the user's items in the earlier parts: valid vs train, test vs train + valid."""
    import numpy as np

    def items_by_user(names: tuple[str, ...]) -> dict[int, set[int]]:
        out: dict[int, set[int]] = {}
        for name in names:
            feat = parts[name].inter_feat
            for u, i in zip(feat[uid_field].numpy(), feat[iid_field].numpy(), strict=True):
                out.setdefault(int(u), set()).add(int(i))
        return out

    report = {}
    for phase, earlier in (("valid", ("train",)), ("test", ("train", "valid"))):
        loader = loaders[phase]
        expected = items_by_user(earlier)
        positives = items_by_user((phase,))
        users = [int(u) for u in np.asarray(loader.uid_list)]
        same = sum(
            set(loader.uid2history_item[u].tolist()) == expected.get(u, set()) - positives[u]
            for u in users
        )
        report[phase] = {
            "users": len(users),
            "mask_equals_earlier_parts": int(same),
            "earlier_parts": list(earlier),
        }
    return report


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    for var in THREAD_VARS:
        os.environ[var] = str(args.threads)
    os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

    import numpy as np
    import pandas as pd
    import scipy
    import torch

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(args.threads)

    import recbole
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_flops, get_model, get_trainer, init_logger, init_seed
    from recbole.utils.enum_type import ModelType

    load_before = list(os.getloadavg())
    t_start = time.perf_counter()
    config_dict = build_config_dict(args)
    config = Config(model=args.model, dataset=args.dataset, config_dict=config_dict)
    init_seed(config["seed"], config["reproducibility"])
    init_logger(config)

    t0 = time.perf_counter()
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    data_s = time.perf_counter() - t0

    parts = {
        "train": train_data._dataset,
        "valid": valid_data._dataset,
        "test": test_data._dataset,
    }
    sizes = {name: len(p.inter_feat) for name, p in parts.items()}
    if args.dump_split:
        _dump_parts(dataset, parts, Path(args.dump_split))

    masks = check_masks(
        parts, {"valid": valid_data, "test": test_data}, dataset.uid_field, dataset.iid_field
    )

    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
    # run_recbole probes FLOPs here; keep the call so the random stream matches it.
    try:
        flops = float(get_flops(model, dataset, config["device"], logging.getLogger(), None))
    except Exception as exc:  # thop fails for some models; the number is informative only
        flops = f"failed: {type(exc).__name__}: {exc}"
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)

    epoch_train_s: list[float] = []
    epoch_valid_s: list[float] = []
    epoch_train_cpu_s: list[float] = []  # process CPU time: less sensitive to a busy machine
    valid_scores: list[float] = []
    train_losses: list[float] = []
    orig_train, orig_valid = trainer._train_epoch, trainer._valid_epoch

    def timed_train(*a: Any, **k: Any) -> Any:
        t, c = time.perf_counter(), time.process_time()
        loss = orig_train(*a, **k)
        epoch_train_s.append(time.perf_counter() - t)
        epoch_train_cpu_s.append(time.process_time() - c)
        train_losses.append(float(sum(loss)) if isinstance(loss, tuple) else float(loss))
        return loss

    def timed_valid(*a: Any, **k: Any) -> Any:
        t = time.perf_counter()
        score, result = orig_valid(*a, **k)
        epoch_valid_s.append(time.perf_counter() - t)
        valid_scores.append(float(score))
        return score, result

    trainer._train_epoch = timed_train
    trainer._valid_epoch = timed_valid

    t1 = time.perf_counter()
    best_valid_score, best_valid_result = trainer.fit(
        train_data, valid_data, saved=True, show_progress=False
    )
    fit_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    test_result = trainer.evaluate(test_data, load_best_model=True, show_progress=False)
    test_s = time.perf_counter() - t2

    pop_diag = None
    if hasattr(model, "item_cnt"):
        # RecBole's Pop updates ``item_cnt[item] = item_cnt[item] + 1`` per batch: an item
        # repeated inside a batch is counted once, so the count is "batches containing it".
        cnt = model.item_cnt.view(-1)[1:].cpu().numpy()
        true = np.bincount(
            train_data._dataset.inter_feat[dataset.iid_field].numpy(), minlength=dataset.item_num
        )[1:]
        pop_diag = {
            "item_cnt_max": int(cnt.max()),
            "items_at_max": int((cnt == cnt.max()).sum()),
            "distinct_counts": len(np.unique(cnt)),
            "true_train_count_max": int(true.max()),
            "true_distinct_counts": len(np.unique(true)),
            "train_batches": int(
                np.ceil(len(train_data._dataset.inter_feat) / config["train_batch_size"])
            ),
        }

    # Early stopping keeps the first strictly best score (recbole.utils.early_stopping).
    # 1-based, like sensorec's TrainingHistory.best_epoch (RecBole's log counts from 0).
    best_epoch = int(np.argmax(valid_scores)) + 1 if valid_scores else None
    n_epochs = len(epoch_train_s)
    out = {
        "model": args.model,
        "mode": args.mode,
        "dataset": args.dataset,
        "data_path_used": str(config["data_path"]),
        "argv": [sys.executable, *sys.argv],
        "seed": args.seed,
        "threads": {
            "torch": torch.get_num_threads(),
            **{v: os.environ.get(v) for v in THREAD_VARS},
        },
        "versions": {
            "recbole": recbole.__version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "scipy": scipy.__version__,
            "python": platform.python_version(),
        },
        "model_type": str(config["MODEL_TYPE"]),
        "traditional_trainer": config["MODEL_TYPE"] == ModelType.TRADITIONAL,
        "config": {
            k: _jsonable(config[k])
            for k in (
                "epochs",
                "stopping_step",
                "eval_step",
                "train_batch_size",
                "learning_rate",
                "learner",
                "weight_decay",
                "train_neg_sample_args",
                "valid_neg_sample_args",
                "test_neg_sample_args",
                "eval_args",
                "metrics",
                "topk",
                "valid_metric",
                "eval_batch_size",
                "benchmark_filename",
                "normalize_all",
                "embedding_size",
                "mf_embedding_size",
                "mlp_embedding_size",
                "mlp_hidden_size",
                "dropout_prob",
                "mf_train",
                "mlp_train",
                "use_pretrain",
                "device",
            )
            if k in config
        },
        "config_dict_given": _jsonable(config_dict),
        "data": {
            "users": int(dataset.user_num - 1),  # RecBole counts a [PAD] user / item
            "items": int(dataset.item_num - 1),
            "interactions": len(dataset.inter_feat),
            "parts": sizes,
        },
        "flops": flops,
        "pop_counts": pop_diag,
        "eval_masks": masks,
        "loadavg_before_after": [load_before, list(os.getloadavg())],
        "best_valid_score": float(best_valid_score),
        "best_valid": {k: float(v) for k, v in (best_valid_result or {}).items()},
        "test": {k: float(v) for k, v in test_result.items()},
        "epochs_run": n_epochs,
        "best_epoch": best_epoch,
        "valid_scores": valid_scores,
        "train_losses": train_losses,
        "timing": {
            "data_s": data_s,
            "fit_s": fit_s,
            "test_s": test_s,
            "total_s": time.perf_counter() - t_start,
            "train_s_per_epoch": (sum(epoch_train_s) / n_epochs) if n_epochs else None,
            "train_s_per_epoch_median": float(np.median(epoch_train_s)) if n_epochs else None,
            "valid_s_per_epoch": (sum(epoch_valid_s) / len(epoch_valid_s))
            if epoch_valid_s
            else None,
            "train_s_total": sum(epoch_train_s),
            "valid_s_total": sum(epoch_valid_s),
            "epoch_train_s": epoch_train_s,
            "train_cpu_s_per_epoch": (sum(epoch_train_cpu_s) / n_epochs) if n_epochs else None,
            "epoch_train_cpu_s": epoch_train_cpu_s,
        },
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
