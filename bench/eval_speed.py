"""Speed of full-ranking evaluation: ML-1M-sized random MF, seen-item masking, top-K.

Scores 6,040 users x 3,706 items with a 64-dim matrix factorisation
(``score_fn = user_emb[u] @ item_emb.T``), masks a random CSR of 1M "seen" interactions on the
device and takes the top 20 (``topk_scores``), then the whole ``evaluate_ranking`` with one
held-out item per user. Writes ``bench/results/eval_speed.json`` with the machine's details.

    python bench/eval_speed.py [--repeats 5] [--out bench/results/eval_speed.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import scipy
import scipy.sparse as sp
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine
from sensorec.evaluation import evaluate_ranking, topk_scores

N_USERS, N_ITEMS, DIM, NNZ, K = 6040, 3706, 64, 1_000_000, 20


def _timed(fn, repeats: int) -> dict[str, float]:
    """Wall-clock and process CPU seconds (all threads) of ``fn`` after one warm-up call."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return {
        "wall_median": statistics.median(wall),
        "wall_min": min(wall),
        "cpu_median": statistics.median(cpu),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "eval_speed.json"))
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    rng = np.random.default_rng(0)
    gen = torch.Generator().manual_seed(0)
    user_emb = torch.randn(N_USERS, DIM, generator=gen)
    item_emb = torch.randn(N_ITEMS, DIM, generator=gen)
    cells = rng.choice(N_USERS * N_ITEMS, size=NNZ, replace=False)
    seen = sp.csr_matrix(
        (np.ones(NNZ, dtype=np.float32), (cells // N_ITEMS, cells % N_ITEMS)),
        shape=(N_USERS, N_ITEMS),
    )
    # one held-out item per user, outside its seen items
    held = np.empty(N_USERS, dtype=np.int64)
    free = ~seen.toarray().astype(bool)
    for u in range(N_USERS):  # benchmark set-up only, not timed
        held[u] = rng.choice(np.flatnonzero(free[u]))
    truth = sp.csr_matrix(
        (np.ones(N_USERS, dtype=np.float32), (np.arange(N_USERS), held)),
        shape=(N_USERS, N_ITEMS),
    )
    users = np.arange(N_USERS, dtype=np.int64)

    def score_fn(u: torch.Tensor, items: torch.Tensor | None) -> torch.Tensor:
        emb = item_emb if items is None else item_emb[items]
        return user_emb[u] @ emb.T

    def run_topk() -> None:
        topk_scores(score_fn, users, K, seen, N_ITEMS, batch_size=args.batch_size, device="cpu")

    def run_eval() -> None:
        evaluate_ranking(score_fn, truth, seen, N_ITEMS, ks=(5, 10, 20), batch_size=args.batch_size)

    def run_scores_only() -> None:
        with torch.no_grad():
            for s in range(0, N_USERS, args.batch_size):
                torch.topk(score_fn(torch.arange(s, min(s + args.batch_size, N_USERS)), None), K)

    t_topk = _timed(run_topk, args.repeats)
    t_eval = _timed(run_eval, args.repeats)
    t_plain = _timed(run_scores_only, args.repeats)
    result = {
        "benchmark": "full-ranking evaluation speed",
        "setup": {
            "n_users": N_USERS,
            "n_items": N_ITEMS,
            "dim": DIM,
            "seen_interactions": NNZ,
            "k": K,
            "batch_size": args.batch_size,
            "repeats": args.repeats,
        },
        "seconds": {
            "topk_scores_masked": t_topk,
            "evaluate_ranking_full": t_eval,
            "matmul_topk_unmasked_baseline": t_plain,
        },
        "machine": {
            **machine(),
            "platform": platform.platform(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "load_average_1m_before_after": [load_before[0], os.getloadavg()[0]],
            "note": "cores shared with other processes; wall-clock seconds",
        },
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["seconds"], indent=2))


if __name__ == "__main__":
    main()
