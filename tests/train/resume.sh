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
# a compact checkpoint (bf16 Adam moments) is smaller, idempotent, and resumes
"$MBTRAIN" compact "$tmp/half.ckpt" "$tmp/compact.ckpt"
"$MBTRAIN" compact "$tmp/compact.ckpt" "$tmp/compact2.ckpt"
cmp "$tmp/compact.ckpt" "$tmp/compact2.ckpt"
full_size=$(wc -c < "$tmp/half.ckpt"); compact_size=$(wc -c < "$tmp/compact.ckpt")
[ "$compact_size" -lt "$full_size" ] || { echo "compact checkpoint is not smaller"; exit 1; }
# shellcheck disable=SC2086
"$MBTRAIN" --resume "$tmp/compact.ckpt" --threads 1 $EXCL --eval-every 0 --quiet --ckpt "$tmp/resumed2.ckpt" "$tmp/text.txt"
[ -s "$tmp/resumed2.ckpt" ] || { echo "resume from a compact checkpoint wrote nothing"; exit 1; }
echo "compact checkpoint: ok"
