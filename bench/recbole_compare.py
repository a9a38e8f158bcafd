"""RecBole side by side with sensorec on the identical ML-100K leave-one-out split.

What it does:

1. Loads ML-100K with :func:`sensorec.data.movielens.load_movielens`, splits it with
   :func:`sensorec.data.splitting.leave_one_out` (per user: last interaction by time = test,
   the one before = valid; ties in file order) and writes the three parts as RecBole atomic
   files with raw MovieLens ids (:func:`export_recbole_split`).
2. Runs RecBole's Pop, BPR and NeuMF on those files in RecBole's pre-split mode
   (``benchmark_filename: [train, valid, test]``), full ranking, default hyperparameters,
   seed 0, one thread, one process at a time (``bench/recbole_runner.py`` inside the RecBole
   venv), and checks that the parts RecBole used are exactly ours.
3. Runs the same models on RecBole's own leave-one-out split of its bundled ML-100K
   (``eval_args: {split: {LS: valid_and_test}, order: TO, mode: full}``) to check the
   reference numbers, and counts how many users' test (and valid) items agree with ours.
4. Optionally (``--sensorec``) trains sensorec's ``pop``, ``bprmf``, ``neumf`` with their
   default specs on the same split, for a sanity comparison (not tuned).
5. Writes ``bench/results/recbole_ml100k.json`` and prints a summary table.

What RecBole masks at test time (read from RecBole 1.2.1's source, ``recbole/sampler/
sampler.py::Sampler.get_used_ids``, ``recbole/data/dataloader/general_dataloader.py::
FullSortEvalDataLoader._set_user_property``, ``recbole/trainer/trainer.py::
_full_sort_batch_eval``): for each evaluated user, RecBole scores every item and sets to -inf
item 0 (its padding id) and the user's "history" = ``used_ids[phase] - positives``, where
``used_ids["valid"]`` = the user's train + valid items and ``used_ids["test"]`` = train + valid
+ test items, ``positives`` = the user's items in the part being evaluated. So validation
masks the train items and test masks train + valid items; an item that is both a positive
and in an earlier part stays rankable (ML-100K has no repeated user-item pairs, so this never
arises here). This is the same as sensorec (valid excludes train, test excludes
train + valid). The same holds in pre-split mode: the sampler is built from the three loaded
files in the order train, valid, test.

The RecBole venv (``bench/.recbole-venv``, git-ignored; RecBole 1.2.1 does not run on
numpy 2 / pandas 3 / scipy >= 1.12 / setuptools >= 81)::

    python3 -m venv bench/.recbole-venv
    bench/.recbole-venv/bin/pip install torch==2.13.0
    bench/.recbole-venv/bin/pip install recbole==1.2.1 "numpy<2" "pandas<3" "setuptools<81" \\
        "scipy<1.12"

That resolved (2026-11-25) to recbole 1.2.1, torch 2.13.0+cpu, numpy 1.26.4, pandas 2.3.3,
scipy 1.11.4, setuptools 80.10.2, and brought in every optional import RecBole needs here
(ray 2.6.3, thop 0.1.1.post2209072238, tabulate 0.10.0, colorlog 4.7.2, colorama 0.4.4,
texttable 1.7.2, plotly 7.1.0, tensorboard 2.21.0, scikit-learn 1.9.1); nothing else had to
be installed. RecBole runs with ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` (it reloads its best
checkpoint with ``torch.load``).

Run (from the repository root, with sensorec's venv)::

    OMP_NUM_THREADS=1 .venv/bin/python bench/recbole_compare.py --data-dir /work/shared/data \\
        [--models Pop BPR NeuMF] [--sensorec] [--out bench/results/recbole_ml100k.json]

Seed spread of one model (pre-split and own LOO; writes ``recbole_ml100k_seeds.json`` unless
``--out`` is given)::

    OMP_NUM_THREADS=1 .venv/bin/python bench/recbole_compare.py --seed-study BPR \
        --seeds 0 1 2 3 2020 --out bench/results/recbole_ml100k_seeds_bpr.json

Scratch files (atomic files, RecBole logs and checkpoints, dumped parts) go to
``bench/work/recbole`` (git-ignored).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import logging
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import cpu_model
from sensorec.data.dataset import Dataset, Split

log = logging.getLogger("bench.recbole_compare")

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENV_PYTHON = BENCH / ".recbole-venv" / "bin" / "python"
RUNNER = BENCH / "recbole_runner.py"
PRESPLIT_NAME = "ml100k-sensorec"
PARTS = ("train", "valid", "test")
HEADER = ("user_id:token", "item_id:token", "rating:float", "timestamp:float")

PIP_LINES = (
    "python3 -m venv bench/.recbole-venv",
    "bench/.recbole-venv/bin/pip install torch==2.13.0",
    'bench/.recbole-venv/bin/pip install recbole==1.2.1 "numpy<2" "pandas<3" '
    '"setuptools<81" "scipy<1.12"',
)

#: Numbers we were given: "RecBole 1.2.1 on ML-100K leave-one-out (time-ordered, full
#: ranking)", one thread.
REFERENCE = {
    "ndcg@10": {"Pop": 0.0403, "BPR": 0.0673, "NeuMF": 0.0648},
    "s_per_epoch": {"BPR": 0.26, "NeuMF": 1.40},
}

METRIC_KEYS = ("ndcg@10", "hit@10", "recall@10", "mrr@10")
SENSOREC_MODELS = {"Pop": "pop", "BPR": "bprmf", "NeuMF": "neumf"}


# -- export ------------------------------------------------------------------------------------
def _check_token(value: Any, part: str, row: int, column: str) -> str:
    text = str(value)
    if not text or any(c in text for c in "\t\n\r"):
        raise ValueError(
            f"{part} row {row}: {column} {value!r} cannot be written as a RecBole token "
            "(empty, or contains a tab or line break)"
        )
    return text


def _atomic_frame(part: Dataset, name: str) -> pd.DataFrame:
    """A part's rows with raw ids, in the part's row order (the source-file order)."""
    users = part.users.raw(part.user_index)
    items = part.items.raw(part.item_index)
    for column, values in (("user_id", users), ("item_id", items)):
        for row, value in enumerate(values):
            _check_token(value, name, row, column)
    if part.n_interactions and not part.has_ratings:
        raise ValueError(f"{name}: some ratings are missing; RecBole's rating:float needs all")
    if part.n_interactions and not part.has_timestamps:
        raise ValueError(f"{name}: some timestamps are missing (-1)")
    return pd.DataFrame(
        {
            HEADER[0]: users,
            HEADER[1]: items,
            HEADER[2]: part.ratings.astype(np.float64),
            HEADER[3]: part.timestamps,
        }
    )


def _write_atomic(frame: pd.DataFrame, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    # ratings written without a trailing ".0" when integral, as in the GroupLens files
    text = frame.to_csv(sep="\t", index=False, lineterminator="\n", float_format="%.10g")
    path.write_text(text)
    return hashlib.sha256(text.encode()).hexdigest()


def export_recbole_split(
    split: Split, folder: str | Path, name: str = PRESPLIT_NAME
) -> dict[str, Any]:
    """Write ``split`` as RecBole pre-split atomic files with raw ids.

    Creates ``<folder>/<name>/<name>.train.inter``, ``.valid.inter`` and ``.test.inter``
    (tab-separated, header ``user_id:token  item_id:token  rating:float  timestamp:float``),
    to be loaded with ``benchmark_filename: ['train', 'valid', 'test']``. Raw ids are written,
    so RecBole's own id remapping cannot change which user or item a row means.

    Returns the file paths, row counts and SHA-256 of each file.
    """
    out: dict[str, Any] = {"name": name, "folder": str(Path(folder)), "files": {}}
    for part_name in PARTS:
        part: Dataset = getattr(split, part_name)
        path = Path(folder) / name / f"{name}.{part_name}.inter"
        sha = _write_atomic(_atomic_frame(part, part_name), path)
        out["files"][part_name] = {"path": str(path), "rows": part.n_interactions, "sha256": sha}
    return out


def export_recbole_full(dataset: Dataset, folder: str | Path, name: str) -> dict[str, Any]:
    """Write all interactions of ``dataset`` as ``<folder>/<name>/<name>.inter`` (raw ids)."""
    path = Path(folder) / name / f"{name}.inter"
    sha = _write_atomic(_atomic_frame(dataset, "all"), path)
    return {"path": str(path), "rows": dataset.n_interactions, "sha256": sha}


# -- comparison helpers ------------------------------------------------------------------------
def _pairs(part: Dataset) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": part.users.raw(part.user_index).astype(str),
            "item_id": part.items.raw(part.item_index).astype(str),
        }
    )


def _read_dump(folder: Path, part: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{part}.tsv", sep="\t", dtype=str, keep_default_na=False)


def _same_multiset(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    key = ["user_id", "item_id"]
    return len(a) == len(b) and a.sort_values(key).reset_index(drop=True).equals(
        b.sort_values(key).reset_index(drop=True)
    )


def check_presplit(split: Split, dump: Path) -> dict[str, Any]:
    """Did RecBole use exactly our three parts? (multiset equality of raw-id pairs)"""
    out = {}
    for part in PARTS:
        ours, theirs = _pairs(getattr(split, part)), _read_dump(dump, part)
        out[part] = {
            "ours": len(ours),
            "recbole": len(theirs),
            "identical": _same_multiset(ours, theirs),
        }
    out["all_identical"] = all(out[p]["identical"] for p in PARTS)
    return out


def _one_per_user(frame: pd.DataFrame, part: str) -> pd.Series:
    counts = frame["user_id"].value_counts()
    if (counts != 1).any():
        raise ValueError(f"{part}: expected one interaction per user in leave-one-out")
    return frame.set_index("user_id")["item_id"]


def loo_agreement(split: Split, dump: Path, dataset: Dataset) -> dict[str, Any]:
    """Per user: is RecBole's own LOO test (valid) item the same as ours?"""
    out: dict[str, Any] = {}
    for part in ("valid", "test"):
        ours = _one_per_user(_pairs(getattr(split, part)), part)
        theirs = _one_per_user(_read_dump(dump, part), part)
        common = ours.index.intersection(theirs.index)
        same = int((ours[common] == theirs[common]).sum())
        out[part] = {
            "users_ours": len(ours),
            "users_recbole": len(theirs),
            "users_both": len(common),
            "same_item": same,
            "different_item": len(common) - same,
        }
    theirs_train = _read_dump(dump, "train")
    out["train_identical"] = _same_multiset(_pairs(split.train), theirs_train)

    # Explain differences: RecBole (ml-100k.yaml: normalize_all) min-max scales timestamps
    # and stores them as float32 before its stable sort, which merges timestamps ~1 s apart.
    ts = dataset.timestamps.astype(np.float64)
    scaled = ((ts - ts.min()) / (ts.max() - ts.min())).astype(np.float32)
    users = dataset.user_index
    order = np.lexsort((np.arange(len(ts)), scaled, users))
    last = np.r_[users[order][1:] != users[order][:-1], True]
    second = np.r_[last[1:], False]
    sim_test = pd.Series(
        dataset.items.raw(dataset.item_index[order][last]).astype(str),
        index=dataset.users.raw(users[order][last]).astype(str),
    )
    sim_valid = pd.Series(
        dataset.items.raw(dataset.item_index[order][second]).astype(str),
        index=dataset.users.raw(users[order][second]).astype(str),
    )
    rb_test = _one_per_user(_read_dump(dump, "test"), "test")
    rb_valid = _one_per_user(_read_dump(dump, "valid"), "valid")
    out["float32_normalized_time_explains"] = {
        "test_matches_recbole": int((sim_test[rb_test.index] == rb_test).sum()),
        "valid_matches_recbole": int((sim_valid[rb_valid.index] == rb_valid).sum()),
        "users": len(rb_test),
    }
    # how many users' last two interactions share a timestamp (exactly / after float32 scaling)
    srt_ts, srt_sc = ts[order], scaled[order]
    out["users_last_two_same_second"] = int((srt_ts[last] == srt_ts[second]).sum())
    out["users_last_two_same_float32_time"] = int((srt_sc[last] == srt_sc[second]).sum())
    return out


def compare_bundled(dataset: Dataset) -> dict[str, Any]:
    """Is RecBole's bundled ``ml-100k.inter`` the same data as ours, row for row?"""
    path = subprocess.run(
        [
            str(VENV_PYTHON),
            "-c",
            "import os, recbole; print(os.path.join(os.path.dirname(recbole.__file__), "
            "'dataset_example', 'ml-100k', 'ml-100k.inter'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    bundled = pd.read_csv(path, sep="\t")
    bundled.columns = [c.split(":")[0] for c in bundled.columns]
    ours = pd.DataFrame(
        {
            "user_id": dataset.users.raw(dataset.user_index).astype(np.int64),
            "item_id": dataset.items.raw(dataset.item_index).astype(np.int64),
            "rating": dataset.ratings.astype(np.float64),
            "timestamp": dataset.timestamps.astype(np.float64),
        }
    )
    same_rows = len(bundled) == len(ours) and bool(
        (
            bundled[list(ours.columns)].astype(np.float64).to_numpy()
            == ours.astype(np.float64).to_numpy()
        ).all()
    )
    return {"path": path, "rows": len(bundled), "identical_rows_in_same_order": same_rows}


def direct_popularity(split: Split, k: int = 10) -> dict[str, float]:
    """Item popularity (train counts) ranked for every test user, in plain numpy.

    Train + valid items of the user are excluded; ties go to the lower item index (stable
    sort). One test item per user, so Hit@K = Recall@K. An independent check of what a
    correct popularity baseline scores on this split.
    """
    pop = np.bincount(split.train.item_index, minlength=split.n_items).astype(np.float64)
    seen = (split.train.csr() + split.valid.csr()).tocsr()
    truth = split.test.csr().tocsr()
    users = np.flatnonzero(np.diff(truth.indptr) > 0)
    scores = np.tile(pop, (len(users), 1))
    rows, cols = seen[users].nonzero()
    scores[rows, cols] = -np.inf
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]  # [U, k]
    hits = truth[users].toarray()[np.arange(len(users))[:, None], top] > 0  # [U, k]
    n_true = np.diff(truth.indptr)[users]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    idcg = np.array([discounts[: min(n, k)].sum() for n in n_true])
    first = np.where(hits.any(1), hits.argmax(1) + 1, 0)
    return {
        f"ndcg@{k}": float(((hits * discounts).sum(1) / idcg).mean()),
        f"hit@{k}": float(hits.any(1).mean()),
        f"recall@{k}": float((hits.sum(1) / n_true).mean()),
        f"mrr@{k}": float(np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0).mean()),
        "users": len(users),
    }


# -- running -----------------------------------------------------------------------------------
def _thread_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1",
        PYTHONHASHSEED="0",
    )
    return env


def run_recbole(
    model: str,
    mode: str,
    data_path: Path,
    dataset: str,
    work: Path,
    tag: str,
    extra: Sequence[str] = (),
    seed: int = 0,
) -> dict[str, Any]:
    """Run ``recbole_runner.py`` once in the RecBole venv; returns its JSON plus the command."""
    if not VENV_PYTHON.exists():
        raise FileNotFoundError(
            f"{VENV_PYTHON} not found; build the RecBole venv first:\n  " + "\n  ".join(PIP_LINES)
        )
    run_dir = work / "runs" / tag
    run_dir.mkdir(parents=True, exist_ok=True)
    out = run_dir / "result.json"
    cmd = [
        str(VENV_PYTHON),
        str(RUNNER),
        "--model",
        model,
        "--mode",
        mode,
        "--data-path",
        str(data_path),
        "--dataset",
        dataset,
        "--out",
        str(out),
        "--seed",
        str(seed),
        "--threads",
        "1",
        "--checkpoint-dir",
        str(run_dir / "saved"),
        "--dump-split",
        str(run_dir / "parts"),
        *extra,
    ]
    shown = (
        "cd " + shlex.quote(str(run_dir)) + " && OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "
        "OPENBLAS_NUM_THREADS=1 TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 PYTHONHASHSEED=0 "
        + shlex.join(os.path.relpath(c, run_dir) if c.startswith(str(REPO)) else c for c in cmd)
    )
    log.info("running %s", shown)
    t = time.perf_counter()
    with open(run_dir / "stdout.log", "w") as so, open(run_dir / "stderr.log", "w") as se:
        proc = subprocess.run(cmd, cwd=run_dir, env=_thread_env(), stdout=so, stderr=se)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        tail = (run_dir / "stderr.log").read_text()[-3000:]
        raise RuntimeError(f"RecBole run {tag} failed (exit {proc.returncode}):\n{tail}")
    result = json.loads(out.read_text())
    result["command"] = shown
    result["wall_s"] = wall
    result["parts_dump"] = str(run_dir / "parts")
    return result


def run_sensorec(model: str, data_dir: str) -> dict[str, Any]:
    """sensorec's own default spec for ``model`` on the same LOO split (sanity only)."""
    import torch

    from sensorec.experiments.compare import default_spec
    from sensorec.experiments.runner import run_experiment

    torch.set_num_threads(1)
    spec = default_spec(
        model,
        data={"name": "ml-100k", "data_dir": data_dir},
        split={"name": "loo"},
        eval={"ks": [10], "metrics": ["ndcg", "hr", "recall", "mrr"]},
        device="cpu",
    )
    t = time.perf_counter()
    run = run_experiment(spec)
    m = run.metrics
    return {
        "model": model,
        "spec": spec.to_dict(),
        "test": {k: float(v) for k, v in m["test"].items()},
        "valid": {k: float(v) for k, v in m["valid"].items()},
        "timing": m["timing"],
        "split_hash": m["provenance"]["split_hash"],
        "wall_s": time.perf_counter() - t,
    }


def _recbole_metrics(res: dict[str, Any]) -> dict[str, float]:
    return {k: res["test"][k] for k in METRIC_KEYS}


def _machine() -> dict[str, Any]:
    cpu = cpu_model()
    # GNU nproc honours OMP_NUM_THREADS, which this script sets to 1: ask without it
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_THREAD_LIMIT")}
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, env=env).stdout.strip()
    return {
        "nproc": int(nproc) if nproc.isdigit() else os.cpu_count(),
        "cpu": cpu,
        "platform": platform.platform(),
        "python_driver": platform.python_version(),
        "note": "2 cores shared with other jobs; every run single-threaded",
    }


def _venv_freeze() -> dict[str, str]:
    out = subprocess.run(
        [str(VENV_PYTHON), "-m", "pip", "list", "--format=json"], capture_output=True, text=True
    )
    try:
        return {p["name"]: p["version"] for p in json.loads(out.stdout)}
    except json.JSONDecodeError:
        return {}


def _fmt(x: float | None, nd: int = 4) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def _best_epoch(res: dict[str, Any]) -> int | None:
    """1-based epoch of the first best valid score (RecBole keeps the first strict best)."""
    scores = res.get("valid_scores") or []
    return int(np.argmax(scores)) + 1 if scores else None


def summary_table(report: dict[str, Any]) -> list[str]:
    rows = [
        "| run | model | NDCG@10 | Hit@10 | Recall@10 | MRR@10 | epochs (best) | train s/epoch "
        "| CPU s/epoch | total s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for section, label in (
        ("recbole_presplit", "RecBole, our split"),
        ("recbole_own_loo", "RecBole, own LOO"),
    ):
        for name, res in report.get(section, {}).items():
            t = res["test"]
            rows.append(
                f"| {label} | {name} | {_fmt(t['ndcg@10'])} | {_fmt(t['hit@10'])} | "
                f"{_fmt(t['recall@10'])} | {_fmt(t['mrr@10'])} | "
                f"{res['epochs_run']} ({_best_epoch(res)}) | "
                f"{_fmt(res['timing']['train_s_per_epoch'], 2)} | "
                f"{_fmt(res['timing'].get('train_cpu_s_per_epoch'), 2)} | "
                f"{_fmt(res['timing']['total_s'], 1)} |"
            )
    for name, res in report.get("sensorec", {}).items():
        t = res["test"]
        rows.append(
            f"| sensorec defaults, our split | {name} | {_fmt(t.get('ndcg@10'))} | "
            f"{_fmt(t.get('hr@10'))} | {_fmt(t.get('recall@10'))} | {_fmt(t.get('mrr@10'))} | "
            f"{res['timing']['epochs']} ({res['timing']['best_epoch']}) | "
            f"{_fmt(res['timing']['s_per_epoch'], 2)} | - | {_fmt(res['wall_s'], 1)} |"
        )
    if "direct_popularity_our_split" in report:
        t = report["direct_popularity_our_split"]
        rows.append(
            f"| numpy popularity, our split | Pop | {_fmt(t['ndcg@10'])} | {_fmt(t['hit@10'])} | "
            f"{_fmt(t['recall@10'])} | {_fmt(t['mrr@10'])} | - | - | - | - |"
        )
    for name, value in REFERENCE["ndcg@10"].items():
        spe = REFERENCE["s_per_epoch"].get(name)
        rows.append(
            f"| reference (given) | {name} | {value:.4f} | - | - | - | - | {_fmt(spe, 2)} | - | - |"
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir", default="/work/shared/data", help="folder containing ml-100k/"
    )
    parser.add_argument("--models", nargs="+", default=["Pop", "BPR", "NeuMF"])
    parser.add_argument("--work", default=str(BENCH / "work" / "recbole"))
    parser.add_argument("--out", default=str(BENCH / "results" / "recbole_ml100k.json"))
    parser.add_argument("--skip-own-loo", action="store_true")
    parser.add_argument("--skip-presplit", action="store_true", help="seed study: own LOO only")
    parser.add_argument(
        "--no-pop-variant", action="store_true", help="skip Pop with train_neg_sample_args=None"
    )
    parser.add_argument("--sensorec", action="store_true", help="also run sensorec's defaults")
    parser.add_argument(
        "--seed-study",
        metavar="MODEL",
        default=None,
        help="instead: run MODEL with each of --seeds (pre-split, and own LOO unless "
        "--skip-own-loo) and write mean and spread (default out: recbole_ml100k_seeds.json)",
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 2020])
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="extra RecBole config entry for every run (e.g. epochs=2 for a smoke test)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    from sensorec.data.movielens import load_movielens
    from sensorec.data.splitting import leave_one_out

    started = _dt.datetime.now(_dt.UTC)
    work = Path(args.work).resolve()
    data_root = work / "data"
    dataset = load_movielens("ml-100k", data_dir=args.data_dir, download=False)
    split = leave_one_out(dataset)
    export = export_recbole_split(split, data_root)
    export["full_file"] = export_recbole_full(dataset, data_root, "ml100k-sensorec-all")
    extra = [x for s in args.set for x in ("--set", s)]
    if args.seed_study:
        out = (
            args.out
            if args.out != parser.get_default("out")
            else str(BENCH / "results" / "recbole_ml100k_seeds.json")
        )
        return seed_study(args, split, data_root, work, extra, out, started)

    report: dict[str, Any] = {
        "date": started.isoformat(timespec="seconds"),
        "driver_command": shlex.join([sys.executable, *sys.argv]),
        "machine": _machine(),
        "recbole_venv": {
            "install": list(PIP_LINES),
            "packages": _venv_freeze(),
            "env": "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 OMP_NUM_THREADS=1",
        },
        "data": {"dataset": dataset.describe(), "split_protocol": split.protocol, "export": export},
        "test_masking": {
            "recbole": "valid: train items of the user; test: train + valid items of the user "
            "(used_ids of the phase minus the positives being evaluated) + padding id 0",
            "sensorec": "valid: train items; test: train + valid items",
            "same": True,
        },
        "reference": REFERENCE,
        "extra_config": args.set,
    }
    report["bundled_ml100k"] = compare_bundled(dataset)
    report["direct_popularity_our_split"] = direct_popularity(split)

    presplit: dict[str, Any] = {}
    for model in args.models:
        res = run_recbole(
            model, "presplit", data_root, PRESPLIT_NAME, work, f"presplit-{model}", extra
        )
        res["split_check"] = check_presplit(split, Path(res["parts_dump"]))
        presplit[model] = res
        log.info("presplit %s: %s", model, _recbole_metrics(res))
    if "Pop" in args.models and not args.no_pop_variant:
        res = run_recbole(
            "Pop",
            "presplit",
            data_root,
            PRESPLIT_NAME,
            work,
            "presplit-Pop-noneg",
            [*extra, "--set", "train_neg_sample_args=null"],
        )
        res["split_check"] = check_presplit(split, Path(res["parts_dump"]))
        presplit["Pop (no train negatives)"] = res
    report["recbole_presplit"] = presplit

    if not args.skip_own_loo:
        own: dict[str, Any] = {}
        for model in args.models:
            res = run_recbole(model, "loo", data_root, "ml-100k", work, f"loo-{model}", extra)
            res["split_agreement"] = loo_agreement(split, Path(res["parts_dump"]), dataset)
            own[model] = res
            log.info("own LOO %s: %s", model, _recbole_metrics(res))
        report["recbole_own_loo"] = own

    if args.sensorec:
        report["sensorec"] = {}
        for model in args.models:
            if model in SENSOREC_MODELS:
                report["sensorec"][model] = run_sensorec(SENSOREC_MODELS[model], args.data_dir)

    report["summary_table"] = summary_table(report)
    report["elapsed_s"] = (_dt.datetime.now(_dt.UTC) - started).total_seconds()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2, default=_json_default))
    print("\n".join(report["summary_table"]))
    if "recbole_own_loo" in report:
        for model, res in report["recbole_own_loo"].items():
            a = res["split_agreement"]
            print(
                f"own LOO {model}: test item same for {a['test']['same_item']}/"
                f"{a['test']['users_both']} users, valid {a['valid']['same_item']}/"
                f"{a['valid']['users_both']}"
            )
            break
    for model, res in report["recbole_presplit"].items():
        print(f"pre-split {model}: parts identical to ours: {res['split_check']['all_identical']}")
    print(f"wrote {args.out}")
    return 0


def seed_study(
    args: argparse.Namespace,
    split: Split,
    data_root: Path,
    work: Path,
    extra: Sequence[str],
    out: str,
    started: _dt.datetime,
) -> int:
    """One RecBole model over several seeds: how much of a difference is seed noise?"""
    model = args.seed_study
    modes = ([] if args.skip_presplit else [("presplit", PRESPLIT_NAME)]) + (
        [] if args.skip_own_loo else [("loo", "ml-100k")]
    )
    report: dict[str, Any] = {
        "date": started.isoformat(timespec="seconds"),
        "driver_command": shlex.join([sys.executable, *sys.argv]),
        "machine": _machine(),
        "model": model,
        "seeds": args.seeds,
        "extra_config": args.set,
        "runs": {},
        "summary": {},
    }
    for mode, name in modes:
        runs = {}
        for seed in args.seeds:
            res = run_recbole(
                model, mode, data_root, name, work, f"seeds-{mode}-{model}-{seed}", extra, seed=seed
            )
            if mode == "presplit":
                res["split_check"] = check_presplit(split, Path(res["parts_dump"]))
            runs[str(seed)] = res
            log.info("%s %s seed %d: %s", mode, model, seed, _recbole_metrics(res))
        report["runs"][mode] = runs
        summary = {}
        for key in METRIC_KEYS:
            values = np.array([r["test"][key] for r in runs.values()])
            summary[key] = {
                "values": values.tolist(),
                "mean": float(values.mean()),
                "std": float(values.std(ddof=1)) if len(values) > 1 else None,
                "min": float(values.min()),
                "max": float(values.max()),
            }
        summary["epochs_run"] = [r["epochs_run"] for r in runs.values()]
        summary["train_s_per_epoch"] = [r["timing"]["train_s_per_epoch"] for r in runs.values()]
        report["summary"][mode] = summary
        nd = summary["ndcg@10"]
        print(
            f"{model} {mode}: NDCG@10 over seeds {args.seeds}: {nd['values']} "
            f"mean {nd['mean']:.4f} sd {nd['std'] if nd['std'] is None else round(nd['std'], 4)}"
        )
    report["elapsed_s"] = (_dt.datetime.now(_dt.UTC) - started).total_seconds()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(report, indent=2, default=_json_default))
    print(f"wrote {out}")
    return 0


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj)}")


if __name__ == "__main__":
    raise SystemExit(main())
