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
# 120 steps, and 60 resumed from a checkpoint (which carries the option) after 60
train_resumed "$tmp/c.ckpt" --cross-patch 2
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
check_export "$tmp/log" "cross-patch"
roundtrip_model "$tmp/m.mbzm" "$tmp/text.txt" "cross-patch"
