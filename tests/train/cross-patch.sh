#!/bin/sh
# cross-patch.sh - the cross-patch local attention option end to end: a tiny model
# trained with --cross-patch 2 (P = 4) resumes exactly, exports with the option in
# its hyperparameters, the integer model stays within 2% of the float one (so the
# engine's attention over the previous patch matches the trainer's), and mbzip
# round-trips with it byte-exact.
. "$(dirname "$0")/common.sh"
srcdir=${top_srcdir:-$(dirname "$0")/../..}
EXCL="--no-default-excludes --exclude-dir $srcdir/corpora"
gen_text "$tmp/text.txt" 1500
# shellcheck disable=SC2086
"$MBTRAIN" $TINY --cross-patch 2 $EXCL --steps 120 --eval-every 0 --quiet --ckpt "$tmp/c.ckpt" "$tmp/text.txt"
# resume: 60 steps, stop, 60 more from the checkpoint (which carries the option)
# shellcheck disable=SC2086
"$MBTRAIN" $TINY --cross-patch 2 $EXCL --steps 120 --stop-at 60 --eval-every 0 --quiet --ckpt "$tmp/half.ckpt" "$tmp/text.txt"
# shellcheck disable=SC2086
"$MBTRAIN" --resume "$tmp/half.ckpt" --threads 1 $EXCL --eval-every 0 --quiet --ckpt "$tmp/resumed.ckpt" "$tmp/text.txt"
cmp "$tmp/c.ckpt" "$tmp/resumed.ckpt"
echo "resume exact: ok"
# an r larger than the patch is refused
# shellcheck disable=SC2086
if "$MBTRAIN" $TINY --cross-patch 5 $EXCL --steps 1 --quiet --ckpt "$tmp/x.ckpt" "$tmp/text.txt" 2> "$tmp/err"; then
  echo "--cross-patch 5 with --patch 4 accepted"; exit 1
fi
cat "$tmp/err"
# shellcheck disable=SC2086
"$MBTRAIN" export --quiet $EXCL --eval-windows 8 "$tmp/c.ckpt" "$tmp/m.mbzm" "$tmp/text.txt" > "$tmp/log"
cat "$tmp/log"
# hparams (16 u32 at offset 16): options (word 10) = 1, cross_r (word 11) = 2
set -- $(od -An -tu4 -j56 -N8 "$tmp/m.mbzm")
[ "$1" = 1 ] && [ "$2" = 2 ] || { echo "model options/cross_r are $1/$2, want 1/2"; exit 1; }
set -- $(sed -n 's/.*float \([0-9.]*\) bpb, integer \([0-9.]*\) bpb.*/\1 \2/p' "$tmp/log")
[ $# -eq 2 ] || { echo "no float/integer result"; exit 1; }
awk -v f="$1" -v i="$2" 'BEGIN { exit !(i <= f * 1.02 + 0.02) }' ||
  { echo "integer $2 bpb loses more than 2% against float $1 bpb"; exit 1; }
echo "integer within 2% of float: ok"

if [ -z "${MBZIP:-}" ] || [ ! -x "$MBZIP" ]; then
  echo "mbzip not built: round trip skipped"
  exit 77
fi
"$MBZIP" --model="$tmp/m.mbzm" -c "$tmp/text.txt" > "$tmp/text.mbz"
"$MBZIP" --model="$tmp/m.mbzm" -dc "$tmp/text.mbz" > "$tmp/back.txt"
cmp "$tmp/text.txt" "$tmp/back.txt"
in=$(wc -c < "$tmp/text.txt")
out=$(wc -c < "$tmp/text.mbz")
echo "round trip: ok ($in -> $out bytes)"
[ $((out * 8)) -lt $((in * 3)) ] || { echo "compressed size $out is too large"; exit 1; }
