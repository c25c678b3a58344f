#!/bin/sh
# global-lag.sh - the global lag and previous-patch options end to end
# (doc/model-format.md §1.2): a tiny model trained with --global-lag 2 --prev-patch
# resumes exactly, exports with both options in its hyperparameters, the integer
# model stays within 2% of the float one (so the engine's lagged global input and
# previous-patch projection match the trainer's), and mbzip round-trips with it
# byte-exact (compression scores teacher-forced, decompression steps: the two paths
# agree). The same for a lag of 3 through the convolutional encoder.
. "$(dirname "$0")/common.sh"
srcdir=${top_srcdir:-$(dirname "$0")/../..}
EXCL="--no-default-excludes --exclude-dir $srcdir/corpora"
gen_text "$tmp/text.txt" 1500
# 120 steps, and 60 resumed from a checkpoint (which carries the options) after 60
train_resumed "$tmp/l.ckpt" --global-lag 2 --prev-patch
# a lag beyond the format's bound is refused
# shellcheck disable=SC2086
if "$MBTRAIN" $TINY --global-lag 9 $EXCL --steps 1 --quiet --ckpt "$tmp/x.ckpt" "$tmp/text.txt" 2> "$tmp/err"; then
  echo "--global-lag 9 accepted"; exit 1
fi
cat "$tmp/err"
# shellcheck disable=SC2086
"$MBTRAIN" export --quiet $EXCL --eval-windows 8 "$tmp/l.ckpt" "$tmp/m.mbzm" "$tmp/text.txt" > "$tmp/log"
cat "$tmp/log"
# hparams (16 u32 at offset 16): options (word 10) = 0x30, global_lag (word 12) = 2
set -- $(od -An -tu4 -j56 -N12 "$tmp/m.mbzm")
[ "$1" = 48 ] && [ "$3" = 2 ] || { echo "model options/global_lag are $1/$3, want 48/2"; exit 1; }
check_export "$tmp/log" "lag 2 + prev"
roundtrip_model "$tmp/m.mbzm" "$tmp/text.txt" "lag 2 + prev"
# a lag of 3 through the convolutional encoder, trained with --out (export at the end)
# shellcheck disable=SC2086
"$MBTRAIN" $TINY --global-lag 3 --conv-encoder $EXCL --steps 120 --eval-every 0 --eval-windows 8 --quiet \
  --ckpt "$tmp/c.ckpt" --out "$tmp/c.mbzm" "$tmp/text.txt" > "$tmp/log"
cat "$tmp/log"
set -- $(od -An -tu4 -j56 -N12 "$tmp/c.mbzm")
[ "$1" = 18 ] && [ "$3" = 3 ] || { echo "model options/global_lag are $1/$3, want 18/3"; exit 1; }
check_export "$tmp/log" "lag 3 + conv"
roundtrip_model "$tmp/c.mbzm" "$tmp/text.txt" "lag 3 + conv"
