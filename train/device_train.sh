#!/bin/bash
# Training on a lent GPU machine (see train/device_prep.py): resumes from .devdata/start.pt with
# 512x512 crops, batch 16, a first phase and a lower-lr second phase, and leaves slimmed
# checkpoints (phase1.pt, final.pt), the logs and log.csv in $OUT.
# Usage: bash train/device_train.sh MINUTES1 LR1 MINUTES2 LR2 [extra trainer options]
set -u
m1=$1 lr1=$2 m2=$3 lr2=$4
shift 4
export PYTHONPATH=$PWD/.devdata/py PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
wd=/tmp/vaec-train
mkdir -p $wd/runs
cp .devdata/start.pt $wd/runs/last.pt
train() {
    # the phase's minutes plus a minute for loading, so that a phase always leaves a checkpoint
    timeout $(python3 -c "print(int($1 * 60 + 60))") python3 -W ignore train/vaec_train.py train \
        --workdir $wd --crop 512 --batch 16 --bf16 --data .devdata/jpg --log-every 100 \
        --save-every 1000 --minutes $1 --lr $2 "${@:3}"
}
train $m1 $lr1 "$@" 2>&1 | tee $OUT/train1.log
python3 train/device_prep.py --slim $wd/runs/last.pt $OUT/phase1.pt
cp $wd/log.csv $OUT/log.csv
train $m2 $lr2 "$@" 2>&1 | tee $OUT/train2.log
python3 train/device_prep.py --slim $wd/runs/last.pt $OUT/final.pt
cp $wd/log.csv $OUT/log.csv
ls -la $OUT
