#!/bin/sh
# eval-categories.sh - held-out bits per byte of one or more checkpoints, per
# category of model/data/ (built by model/build-data.sh), float and integer, as a
# markdown table: the per-category table of model/MODEL.md.
#
#   model/eval-categories.sh [-j JOBS] CKPT...
#
# Each cell is what `mbtrain export --eval-windows N CKPT OUT DATA` prints: the
# export's float model and its integer twin on the held-out windows of DATA (8 windows
# of 8 KiB per category; 32 over all categories together). The integer model is
# calibrated on DATA, so it differs a little from the exported default (which is
# calibrated on all categories). Compare checkpoints only within one run of this
# script: a fresh checkout rebuilds model/data/ from its machine's Debian packages, so
# the Debian categories' held-out windows change from machine to machine.
#
# MBTRAIN: the trainer (default ../build-train/mbtrain, then ./mbtrain). JOBS
# exports at a time (default 2).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
jobs=2
if [ "${1:-}" = -j ]; then jobs=$2; shift 2; fi
[ $# -ge 1 ] || { echo "usage: model/eval-categories.sh [-j JOBS] CKPT..." >&2; exit 1; }
MBTRAIN=${MBTRAIN:-}
if [ -z "$MBTRAIN" ]; then
  for c in "$here/../../build-train/mbtrain" "$here/../mbtrain"; do
    if [ -x "$c" ]; then MBTRAIN=$c; break; fi
  done
fi
[ -n "$MBTRAIN" ] || { echo "eval-categories.sh: set MBTRAIN to the mbtrain binary" >&2; exit 1; }
cats=$here/data/categories.txt
[ -f "$cats" ] || { echo "eval-categories.sh: run model/build-data.sh first" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# One job per (checkpoint, category), as NUL-separated "I CAT CKPT" for xargs; "all"
# is every category at once. A job's log is $tmp/I.CAT.log (slashes as _).
export MBTRAIN tmp cats
fn=$(cat <<'EOF'
out=$tmp/$1.$(echo "$2" | tr / _)
if [ "$2" = all ]; then
  "$MBTRAIN" export --eval-windows 32 "$3" "$out.mbzm" $(cat "$cats") > "$out.log" 2>&1
else
  "$MBTRAIN" export --eval-windows 8 "$3" "$out.mbzm" "$2" > "$out.log" 2>&1
fi
rm -f "$out.mbzm"
EOF
)
i=0
for ck in "$@"; do
  [ -f "$ck" ] || { echo "eval-categories.sh: no checkpoint $ck" >&2; exit 1; }
  { echo all; cat "$cats"; } | while IFS= read -r c; do printf '%s\0%s\0%s\0' "$i" "$c" "$ck"; done
  i=$((i + 1))
done | xargs -0 -n 3 -P "$jobs" sh -c "$fn" sh

# held-out (8 windows of 8192 bytes): float 2.5932 bpb, integer 2.5941 bpb (+0.03%)
cell() { sed -n 's/^held-out.*float \([0-9.]*\) bpb, integer \([0-9.]*\) bpb.*/\1 | \2/p' "$1"; }
printf '| held-out data |'
for ck in "$@"; do printf ' %s float | integer |' "$(basename "$ck")"; done
printf '\n| --- |'
for ck in "$@"; do printf ' ---: | ---: |'; done
printf '\n'
{ echo all; cat "$cats"; } | while IFS= read -r c; do
  name=$c
  [ "$c" = all ] && name="all categories (32 windows)"
  printf '| %s |' "$(echo "$name" | sed "s#^$here/data/##")"
  i=0
  for ck in "$@"; do
    v=$(cell "$tmp/$i.$(echo "$c" | tr / _).log")
    [ -n "$v" ] || v="failed | failed"
    printf ' %s |' "$v"
    i=$((i + 1))
  done
  printf '\n'
done
