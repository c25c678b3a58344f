#!/bin/sh
# mpi.sh - data-parallel training (mbtrain-mpi, src/train/dist.c): a tiny model
# trained with `mpirun -np 2` learns (the loss falls), its ranks end with identical
# weights (checked at every checkpoint: "ranks agree"), it matches a one-process run
# of the same batches closely (only the order of float sums differs), and a run
# stopped with 2 ranks resumes with 1 rank. Skipped when configure found no MPI.
. "$(dirname "$0")/common.sh"
MBTRAIN_MPI=${MBTRAIN_MPI:-}
MPIRUN=${MPIRUN:-mpirun}
if [ -z "$MBTRAIN_MPI" ] || [ ! -x "$MBTRAIN_MPI" ]; then
  echo "mbtrain-mpi is not built (configure found no MPI compiler): skipped"
  exit 77
fi
command -v "$MPIRUN" >/dev/null 2>&1 || { echo "no mpirun: skipped"; exit 77; }
# Open MPI refuses to run as root unless told; --oversubscribe: a machine or
# container may report fewer slots than 2
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM
# In a sanitizer build, Open MPI's own allocations that live until exit are not
# ours to report: no leak check for the MPI processes (the one-process runs keep it).
mpi() {
  n=$1; shift
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "$MPIRUN" -np "$n" --oversubscribe \
    -x ASAN_OPTIONS "$MBTRAIN_MPI" "$@"
}

gen_text "$tmp/text.txt" 1500
RUN="--no-default-excludes --steps 80 --eval-every 40 --log-every 20"

# shellcheck disable=SC2086
mpi 2 $TINY $RUN --ckpt "$tmp/two.ckpt" "$tmp/text.txt" > "$tmp/two.log" 2> "$tmp/two.err" ||
  { cat "$tmp/two.err"; echo "mpirun -np 2 failed"; exit 1; }
cat "$tmp/two.log"
grep -q "2 MPI ranks, 4 windows of each batch per rank" "$tmp/two.err" || { cat "$tmp/two.err"; echo "not 2 ranks"; exit 1; }
grep -q "^ranks agree: the weights of all 2 ranks are identical" "$tmp/two.log" || { echo "no agreement report"; exit 1; }
[ "$(grep -c '^step 80/80' "$tmp/two.log")" -eq 1 ] || { echo "rank 0 alone must report"; exit 1; }
l20=$(sed -n 's/^step 20\/80 | loss \([0-9.]*\) bpb.*/\1/p' "$tmp/two.log")
l80=$(sed -n 's/^step 80\/80 | loss \([0-9.]*\) bpb.*/\1/p' "$tmp/two.log")
h2=$(sed -n 's/^eval step 80 | held-out \([0-9.]*\) bpb.*/\1/p' "$tmp/two.log")
awk -v a="$l20" -v b="$l80" 'BEGIN { exit !(b + 0.5 < a) }' || { echo "loss did not fall ($l20 -> $l80)"; exit 1; }
echo "2 ranks: loss $l20 -> $l80 bpb, ranks agree: ok"

# the same batches in one process: the same run up to the order of float sums
# shellcheck disable=SC2086
"$MBTRAIN" $TINY $RUN --ckpt "$tmp/one.ckpt" "$tmp/text.txt" > "$tmp/one.log" 2>/dev/null
h1=$(sed -n 's/^eval step 80 | held-out \([0-9.]*\) bpb.*/\1/p' "$tmp/one.log")
awk -v a="$h1" -v b="$h2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 0.02) }' ||
  { echo "2 ranks ($h2 bpb) and 1 process ($h1 bpb) differ"; exit 1; }
echo "2 ranks vs 1 process: held-out $h2 vs $h1 bpb: ok"

# stopped with 2 ranks, resumed with 1: the run ends where an uninterrupted one does
# shellcheck disable=SC2086
mpi 2 $TINY $RUN --stop-at 40 --ckpt "$tmp/r.ckpt" "$tmp/text.txt" > /dev/null 2>&1 ||
  { echo "the stopped run failed"; exit 1; }
# shellcheck disable=SC2086
mpi 1 --resume "$tmp/r.ckpt" $RUN --ckpt "$tmp/r.ckpt" "$tmp/text.txt" > "$tmp/r.log" 2> "$tmp/r.err" ||
  { cat "$tmp/r.err"; echo "resume with 1 rank failed"; exit 1; }
hr=$(sed -n 's/^eval step 80 | held-out \([0-9.]*\) bpb.*/\1/p' "$tmp/r.log")
awk -v a="$hr" -v b="$h2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 0.02) }' ||
  { echo "resumed with 1 rank ($hr bpb) vs uninterrupted ($h2 bpb)"; exit 1; }
echo "stopped with 2 ranks, resumed with 1: held-out $hr vs $h2 bpb: ok"

# a batch that the ranks cannot share evenly is refused
set +e
# shellcheck disable=SC2086
mpi 2 $TINY --batch 3 $RUN --ckpt "$tmp/x.ckpt" "$tmp/text.txt" > /dev/null 2> "$tmp/x.err"
rc=$?
set -e
[ "$rc" -ne 0 ] && grep -q "must be a multiple of the number of ranks" "$tmp/x.err" ||
  { cat "$tmp/x.err"; echo "batch 3 on 2 ranks was not refused (status $rc)"; exit 1; }
echo "uneven batch refused: ok"
