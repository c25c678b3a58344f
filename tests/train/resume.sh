#!/bin/sh
# resume.sh - training 2N steps in one go and N steps + resume for N more give
# byte-identical checkpoints (parameters, Adam moments, step, RNG state).
. "$(dirname "$0")/common.sh"
srcdir=${top_srcdir:-$(dirname "$0")/../..}
EXCL="--no-default-excludes --exclude-dir $srcdir/corpora"
gen_text "$tmp/text.txt" 600
# shellcheck disable=SC2086
"$MBTRAIN" $TINY $EXCL --steps 40 --eval-every 0 --quiet --ckpt "$tmp/full.ckpt" "$tmp/text.txt"
# shellcheck disable=SC2086
"$MBTRAIN" $TINY $EXCL --steps 40 --stop-at 20 --eval-every 0 --quiet --ckpt "$tmp/half.ckpt" "$tmp/text.txt"
if cmp -s "$tmp/full.ckpt" "$tmp/half.ckpt"; then echo "the stopped run did not stop"; exit 1; fi
# the resumed run takes the model and schedule from the checkpoint
# shellcheck disable=SC2086
"$MBTRAIN" --resume "$tmp/half.ckpt" --threads 1 $EXCL --eval-every 0 --quiet --ckpt "$tmp/resumed.ckpt" "$tmp/text.txt"
cmp "$tmp/full.ckpt" "$tmp/resumed.ckpt"
echo "resume exact: ok"
# a corrupt checkpoint is refused
head -c 1000 "$tmp/half.ckpt" > "$tmp/trunc.ckpt"
if "$MBTRAIN" --resume "$tmp/trunc.ckpt" --quiet "$tmp/text.txt" 2> "$tmp/err"; then
  echo "a truncated checkpoint was accepted"; exit 1
fi
cat "$tmp/err"
echo "truncated checkpoint refused: ok"
