#!/bin/sh
# train-default.sh - train (or resume) mbzip's default model on model/data/ (built by
# model/build-data.sh). Runs in the foreground; start it in the background with
#   nohup setsid model/train-default.sh > /dev/null 2>&1 &
# Checkpoints go to model/scratch/default.ckpt (atomically, every 5 minutes); the log
# to model/scratch/train.log. Running it again resumes from the checkpoint, exactly.
# At the end the model is exported to model/scratch/default.mbzm (float and integer
# held-out bits per byte are printed to the log).
#
# MBTRAIN: the trainer binary (default: model/scratch/mbtrain, a copy of mbtrain built
# with CFLAGS='-O3 -march=native', so that rebuilding the tree does not touch the run;
# falls back to ../build-train/mbtrain). THREADS: OpenBLAS threads (default 1).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
scratch=$here/scratch
mkdir -p "$scratch"
MBTRAIN=${MBTRAIN:-$scratch/mbtrain}
[ -x "$MBTRAIN" ] || MBTRAIN=$here/../../build-train/mbtrain
THREADS=${THREADS:-1}
[ -f "$here/data/categories.txt" ] || { echo "run model/build-data.sh first" >&2; exit 1; }
cats=$(cat "$here/data/categories.txt")
ckpt=$scratch/default.ckpt
resume=
[ -f "$ckpt" ] && resume="--resume $ckpt"
# A fresh checkout has no scratch/: continue from the committed compact checkpoint
# (model/default-compact.ckpt, bf16 Adam moments; close to, not bit-identical with,
# the run that wrote it).
[ -z "$resume" ] && [ -f "$here/default-compact.ckpt" ] && resume="--resume $here/default-compact.ckpt"

# The default model (doc/model-format.md §1): P=8, D_E=32 (D_G=256), global 4 layers x
# 4 heads, ff 1024; local D_L=128, 2 layers x 2 heads, ff 512; context 8 KiB.
# 9000 steps x 4 windows x 8 KiB = 295 MB (about 2/3 of an epoch of 451 MB).
# shellcheck disable=SC2086
exec "$MBTRAIN" $resume \
  --patch 8 --d-emb 32 --g-layers 4 --g-heads 4 --g-ff 1024 \
  --l-dim 128 --l-layers 2 --l-heads 2 --l-ff 512 --ctx 8192 \
  --batch 4 --steps 9000 --lr 1e-3 --warmup 200 --wd 0.1 --clip 1.0 --seed 1 \
  --threads "$THREADS" --ckpt "$ckpt" --ckpt-every 0 --ckpt-minutes 5 \
  --eval-every 250 --eval-windows 32 --log-every 10 --drop-overlap \
  --out "$scratch/default.mbzm" \
  $cats >> "$scratch/train.log" 2>&1
