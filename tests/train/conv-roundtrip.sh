#!/bin/sh
# conv-roundtrip.sh - the convolutional patch encoder (mbtrain --conv-encoder) end to
# end: a tiny model trained with the option resumes exactly (the option comes from the
# checkpoint), exports to an integer model file with the option bit and the g.conv.*
# tensors, whose integer bits/byte are within 2% of the float model's (plus the small
# absolute slack of export-roundtrip.sh), and mbzip round-trips a file with it.
. "$(dirname "$0")/common.sh"
srcdir=${top_srcdir:-$(dirname "$0")/../..}
EXCL="--no-default-excludes --exclude-dir $srcdir/corpora"
gen_text "$tmp/text.txt" 1500
# shellcheck disable=SC2086
"$MBTRAIN" $TINY --conv-encoder $EXCL --steps 120 --eval-every 0 --ckpt "$tmp/c.ckpt" "$tmp/text.txt" 2> "$tmp/train.log"
grep "conv encoder" "$tmp/train.log" || { cat "$tmp/train.log"; echo "the run does not say it has the conv encoder"; exit 1; }
# resume: 20 steps in one go == 10 + resume for 10
# shellcheck disable=SC2086
"$MBTRAIN" $TINY --conv-encoder $EXCL --steps 20 --eval-every 0 --quiet --ckpt "$tmp/full.ckpt" "$tmp/text.txt"
# shellcheck disable=SC2086
"$MBTRAIN" $TINY --conv-encoder $EXCL --steps 20 --stop-at 10 --eval-every 0 --quiet --ckpt "$tmp/half.ckpt" "$tmp/text.txt"
"$MBTRAIN" --resume "$tmp/half.ckpt" --threads 1 $EXCL --eval-every 0 --quiet --ckpt "$tmp/resumed.ckpt" "$tmp/text.txt"
cmp "$tmp/full.ckpt" "$tmp/resumed.ckpt"
echo "conv encoder: resume exact: ok"
# shellcheck disable=SC2086
"$MBTRAIN" export --quiet $EXCL --eval-windows 8 "$tmp/c.ckpt" "$tmp/m.mbzm" "$tmp/text.txt" > "$tmp/log"
cat "$tmp/log"
grep -q "g.conv.2.w" "$tmp/m.mbzm" || { echo "no conv tensors in the exported model"; exit 1; }
check_export "$tmp/log" "conv encoder"
roundtrip_model "$tmp/m.mbzm" "$tmp/text.txt" "conv encoder"
