#!/bin/bash
# One GPU window for the wide model (N=128, M=192), continuing the last: resumes from the
# committed checkpoint train/checkpoints/wide.pt (when there is none, from the function-preserving
# widening of the shipped weights), trains for MINUTES (70% at 1e-4 after a warm-up, the rest at
# 3e-5; 512x512 crops, batch 16, bf16) and leaves in $OUT the slimmed checkpoint wide.pt (float16
# weights, no optimizer moments: under 16 MiB, the most a file may have to come back) and the logs.
#
#   here:    python3 train/device_prep.py                 # photos + CompressAI's Python files into .devdata/
#   device:  bash train/gpu_window.sh 11                  # carry [".devdata"], timeout_s 780
#   here:    cp FILES_AT/wide.pt train/checkpoints/wide.pt
#            tail -n +2 FILES_AT/log.csv >> train/log_wide.csv; commit both, measure the curve (README)
#   CI:      bash train/gpu_window.sh --dry-run            # 3 CPU steps on small synthetic crops
set -euo pipefail
cd "$(dirname "$0")/.."
committed=train/checkpoints/wide.pt
if [ "${1:-}" = "--dry-run" ]; then
    minutes=0 dry=1
    OUT=${OUT:-$(mktemp -d)}
    data=(--smoke --cpu --crop 64 --batch 2 --log-every 1)
else
    minutes=${1:?usage: bash train/gpu_window.sh MINUTES | --dry-run}
    dry=0
    export PYTHONPATH=$PWD/.devdata/py PYTHONUNBUFFERED=1
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
    data=(--data .devdata/jpg --crop 512 --batch 16 --log-every 100 --save-every 1000)
fi
wd=$(mktemp -d)
mkdir -p "$wd/runs" "$OUT"
if [ -f "$committed" ]; then
    cp "$committed" "$wd/runs/last.pt"
else
    python3 -W ignore train/vaec_train.py widen --N 128 --M 192 --out "$wd/runs/last.pt"
fi
phase() { # MINUTES LR LOG [options]: a phase always ends with a checkpoint (a minute spare to load)
    local minutes=$1 lr=$2 log=$3
    shift 3
    local limit=(--minutes "$minutes")
    [ "$dry" = 1 ] && limit=(--steps 3)
    timeout "$(python3 -c "print(int($minutes * 60 + 120))")" \
        python3 -W ignore train/vaec_train.py train --workdir "$wd" --bf16 "${data[@]}" \
        --lr "$lr" "${limit[@]}" "$@" 2>&1 | tee "$OUT/$log"
}
phase "$(python3 -c "print($minutes * 0.7)")" 1e-4 train1.log --warmup 200
phase "$(python3 -c "print($minutes * 0.3)")" 3e-5 train2.log
python3 train/device_prep.py --slim-for-git "$wd/runs/last.pt" "$OUT/wide.pt"
cp "$wd/log.csv" "$OUT/log.csv"
size=$(stat -c %s "$OUT/wide.pt")
echo "wide.pt: $size bytes"
[ "$size" -lt $((16 << 20)) ] || { echo "the slimmed checkpoint is over 16 MiB" >&2; exit 1; }
if [ "$dry" = 1 ]; then
    # the next window starts from it: it must load and train
    cp "$OUT/wide.pt" "$wd/runs/last.pt"
    phase 0 1e-5 resume.log
fi
ls -la "$OUT"
