#!/usr/bin/env bash
# Seconds per epoch, RecBole 1.2.1 vs sensorec, on the identical ML-100K leave-one-out split,
# one thread each, run one after the other on the same (otherwise idle) machine.
# Needs the RecBole venv and exported split made by `python bench/recbole_compare.py`.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 SENSOREC_PROGRESS=0
work=bench/work/recbole
for model in BPR NeuMF; do
  bench/.recbole-venv/bin/python bench/recbole_runner.py --model "$model" --mode presplit \
    --data-path "$work/data" --dataset ml100k-sensorec --threads 1 \
    --checkpoint-dir "$work/speed-saved" --out "bench/results/recbole_speed_${model}.json" \
    --set epochs=5 --set stopping_step=100
done
.venv/bin/python bench/epoch_speed.py --threads 1 --epochs 5
