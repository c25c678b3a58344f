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
# BLAS_CORE: OpenBLAS kernels (mbtrain --blas-core; default SkylakeX on a CPU with
# AVX-512, where it is 1.6x faster than the Haswell kernels an environment may force;
# "env" keeps the environment's). RANKS: MPI ranks (default 1; more runs
# `mpirun -np RANKS mbtrain-mpi`, data-parallel, e.g. RANKS=2 THREADS=1 on 2 cores;
# MBTRAIN_MPI: that binary, default model/scratch/mbtrain-mpi, falling back to
# ../build-train/mbtrain-mpi). A run may be resumed with another RANKS.
# YIELD=1: give way to other work on the machine. Under Linux's autogroup
# scheduling `nice` only orders the processes of one session, and a run started
# with setsid is a session of its own: at nice 19 it still took half of the
# machine from a build beside it (measured 2026-12-06: 83% of a core against 44%
# and 39% for two test processes). YIELD=1 sets the session's autogroup nice to 19
# (/proc/self/autogroup) as well as the process's.
#
# Stage 1 (2026-11-22 to 2026-12-04): 9000 steps, the default model 355f8524606d011f.
# Stage 2 (2026-12-04): the schedule stretched to 18500 steps (18500 x 4 x 8 KiB =
# 606 MB of windows). Resuming the step-9000 checkpoint with the longer cosine raises
# the learning rate from its floor (1e-4) to where the longer schedule is at step
# 9000 (5.8e-4), a warm restart, and decays it again to 1e-4 at step 18500: the
# default model 36ca1b19def4a03f.
# Stage 3 (since 2026-12-04): stretched again, to STEPS (default 30000: 983 MB of
# windows, 2.2 passes over the data), a second warm restart (3.9e-4 at step 18500),
# the default model a1d3426d36c27e9f.
# Stage 4 (2026-12-06): stretched to STEPS (default now 42000: 1.38 GB of
# windows), a third warm restart (2.7e-4 at step 30000): the default model
# 7f1d0cf31578a4bc. Its weights with a 2 KiB window (`mbtrain window default.mbzm
# OUT 2048`, model/MODEL.md) are the default model d8714b5e5950efbe since
# 2026-12-07; a run of this script exports the 8 KiB window it trains with.
#
# model/train-fast.sh runs this script for the fast model of the lower levels (issue
# 16): NAME (default "default") names its checkpoint, log, export and committed
# compact checkpoint; ARCH (default: the default architecture, below) its flags;
# BATCH its windows per step (default 4); LR its peak learning rate (default 1e-3).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
scratch=$here/scratch
mkdir -p "$scratch"
MBTRAIN=${MBTRAIN:-$scratch/mbtrain}
[ -x "$MBTRAIN" ] || MBTRAIN=$here/../../build-train/mbtrain
THREADS=${THREADS:-1}
BLAS_CORE=${BLAS_CORE:-}
if [ -z "$BLAS_CORE" ]; then
  BLAS_CORE=env
  grep -q '^flags.* avx512f' /proc/cpuinfo 2>/dev/null && BLAS_CORE=SkylakeX
fi
blas=
[ "$BLAS_CORE" = env ] || blas="--blas-core $BLAS_CORE"
RANKS=${RANKS:-1}
STEPS=${STEPS:-42000}
launch=
if [ "$RANKS" -gt 1 ]; then
  MBTRAIN=${MBTRAIN_MPI:-$scratch/mbtrain-mpi}
  [ -x "$MBTRAIN" ] || MBTRAIN=$here/../../build-train/mbtrain-mpi
  # an MPI rank cannot switch its kernels itself: they come from the environment
  [ "$BLAS_CORE" = env ] || { OPENBLAS_CORETYPE=$BLAS_CORE; export OPENBLAS_CORETYPE; }
  launch="mpirun -np $RANKS"
  [ -n "${OPENBLAS_CORETYPE:-}" ] && launch="$launch -x OPENBLAS_CORETYPE"
  [ "$(id -u)" = 0 ] && launch="$launch --allow-run-as-root"
fi
[ -f "$here/data/categories.txt" ] || { echo "run model/build-data.sh first" >&2; exit 1; }
if [ "${YIELD:-0}" = 1 ]; then
  renice -n 19 -p $$ >/dev/null 2>&1 || true
  [ -w /proc/self/autogroup ] && { echo 19 > /proc/self/autogroup; } 2>/dev/null || true
fi
cats=$(cat "$here/data/categories.txt")
NAME=${NAME:-default}
ckpt=$scratch/$NAME.ckpt
log=$scratch/train.log
[ "$NAME" = default ] || log=$scratch/$NAME-train.log
resume=
[ -f "$ckpt" ] && resume="--resume $ckpt"
# A fresh checkout has no scratch/: continue from the committed compact checkpoint
# (model/NAME-compact.ckpt, bf16 Adam moments; close to, not bit-identical with,
# the run that wrote it).
[ -z "$resume" ] && [ -f "$here/$NAME-compact.ckpt" ] && resume="--resume $here/$NAME-compact.ckpt"

# The default model (doc/model-format.md §1): P=8, D_E=32 (D_G=256), global 4 layers x
# 4 heads, ff 1024; local D_L=128, 2 layers x 2 heads, ff 512; context 8 KiB.
# STEPS x 4 windows x 8 KiB of windows (stage 1 ended at step 9000, 295 MB; stage 2
# at step 18500, 606 MB).
ARCH=${ARCH:-"--patch 8 --d-emb 32 --g-layers 4 --g-heads 4 --g-ff 1024
  --l-dim 128 --l-layers 2 --l-heads 2 --l-ff 512 --ctx 8192"}
# shellcheck disable=SC2086
exec $launch "$MBTRAIN" $resume $blas $ARCH \
  --batch "${BATCH:-4}" --steps "$STEPS" --lr "${LR:-1e-3}" --warmup 200 --wd 0.1 --clip 1.0 --seed 1 \
  --threads "$THREADS" --ckpt "$ckpt" --ckpt-every 0 --ckpt-minutes 5 \
  --eval-every 250 --eval-windows 32 --log-every 10 --drop-overlap \
  --out "$scratch/$NAME.mbzm" \
  $cats >> "$log" 2>&1
