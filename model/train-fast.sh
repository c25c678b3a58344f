#!/bin/sh
# train-fast.sh - train (or resume) the fast model meant for mbzip's lower levels
# (issue 16: "levels 2-4 use a smaller MEGABYTE trained by the same campaign"), on the
# same data as the default model (model/data/, model/build-data.sh). Runs
# model/train-default.sh with NAME=fast, so every setting of that script (MBTRAIN,
# THREADS, BLAS_CORE, RANKS, YIELD) works here too; state in model/scratch/fast.ckpt,
# log in model/scratch/fast-train.log, export in model/scratch/fast.mbzm, committed
# compact checkpoint model/fast-compact.ckpt.
#
# The architecture is the default's at half the widths, with a quarter of the
# context: D_E=16 (D_G=128), global 4 layers x 2 heads (d = 64), ff 512; local D_L=64,
# 2 layers x 1 head (d = 64), ff 256; patch 8, context 2 KiB (256 patches). At the
# lower levels the binary stage's history carries what lies further back. Measured
# with tools/mbzbench-infer on pseudo-random models of both shapes (2026-12-06, Zen 5,
# beside a training run, so only the ratios count): 0.25 M multiply-adds per byte
# against 1.09 M; teacher-forced scoring 81 against 40 KB/s, step prediction
# (decompression) 81 against 25 KB/s. Half the widths with the full 8 KiB context
# gave only 65 and 52 KB/s: the global attention over 1024 patches and the local
# step's fixed costs dominate a small model. 930,752 parameters against 3.6 M.
# Schedule: batch 16 windows of 2 KiB (the default's 32 KiB per step), STEPS
# (default 20000: 655 MB of windows), peak learning rate 1.5e-3 (a smaller model
# takes a larger one), 200 warm-up steps, cosine decay to a tenth of it (1.5e-4).
#
# Run on 2026-12-06 to the end of its schedule: model/fast.mbzm (3c12d392bb87d8d5),
# built into libmbz for levels 2-4 (model/MODEL.md, "The fast model": the run, and
# speed and size against the default model). A new fast model gets a new
# fingerprint; the replaced one goes to model/archive/ (doc/format.md "Models").
#
# NAME and ARCH_EXTRA (flags added to the architecture) let model/train-fast-lag.sh
# train a variant of this shape with the same data and schedule.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
NAME=${NAME:-fast}
ARCH="--patch 8 --d-emb 16 --g-layers 4 --g-heads 2 --g-ff 512
  --l-dim 64 --l-layers 2 --l-heads 1 --l-ff 256 --ctx 2048 ${ARCH_EXTRA:-}"
STEPS=${STEPS:-20000}
BATCH=${BATCH:-16}
LR=${LR:-1.5e-3}
export NAME ARCH STEPS BATCH LR
exec "$here/train-default.sh"
