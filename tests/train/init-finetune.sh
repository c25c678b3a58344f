#!/bin/sh
# init-finetune.sh - mbtrain --init: a model trained on one kind of text is
# fine-tuned on another; the fine-tuned model codes the new text's held-out tail in
# fewer bits than the model it started from (both measured by `mbtrain export`,
# float), keeps its shape, and the run starts afresh (step 0, its own schedule).
# --init together with --resume is refused.
. "$(dirname "$0")/common.sh"
srcdir=${top_srcdir:-$(dirname "$0")/../..}
EXCL="--no-default-excludes --exclude-dir $srcdir/corpora"
gen_text "$tmp/text.txt" 600
# the new data: log-like lines (Park-Miller in awk, as gen_text)
awk 'BEGIN { s = 777;
  split("kernel sshd cron systemd dhclient postfix", prog, " ");
  split("link up session opened session closed started stopped renewed queued", ev, " ");
  for (i = 0; i < 1500; i++) {
    s = (s * 16807) % 2147483647; p = prog[1 + s % 6];
    s = (s * 16807) % 2147483647; e = ev[1 + s % 10];
    s = (s * 16807) % 2147483647;
    printf "Dec  3 %02d:%02d:%02d host %s[%d]: %s\n", (i / 60) % 24, i % 60, s % 60, p, 100 + s % 900, e;
  } }' > "$tmp/log.txt"
# shellcheck disable=SC2086
"$MBTRAIN" $TINY $EXCL --steps 60 --eval-every 0 --quiet --ckpt "$tmp/base.ckpt" "$tmp/text.txt"
# shellcheck disable=SC2086
"$MBTRAIN" --init "$tmp/base.ckpt" --threads 1 $EXCL --steps 40 --lr 2e-3 --eval-every 0 \
  --ckpt "$tmp/tuned.ckpt" "$tmp/log.txt" > "$tmp/tune.out" 2> "$tmp/tune.err"
cat "$tmp/tune.err"
grep -q 'fine-tuning the model of' "$tmp/tune.err" || { echo "no fine-tuning message"; exit 1; }
grep -q '40 steps' "$tmp/tune.err" || { echo "the fine-tuning run did not take its own schedule"; exit 1; }
bpb() { # CKPT: float held-out bits/byte of log.txt
  "$MBTRAIN" export --quiet $EXCL --eval-windows 8 "$1" "$tmp/m.mbzm" "$tmp/log.txt" |
    sed -n 's/.*float \([0-9.]*\) bpb.*/\1/p'
}
before=$(bpb "$tmp/base.ckpt")
after=$(bpb "$tmp/tuned.ckpt")
echo "held-out log text: $before bpb before fine-tuning, $after after"
[ -n "$before" ] && [ -n "$after" ] || { echo "no bits/byte from export"; exit 1; }
awk -v b="$before" -v a="$after" 'BEGIN { exit !(a < b * 0.9) }' ||
  { echo "fine-tuning did not improve the held-out log text by 10%"; exit 1; }
echo "fine-tuning improves the new data: ok"
# shellcheck disable=SC2086
if "$MBTRAIN" --init "$tmp/base.ckpt" --resume "$tmp/base.ckpt" --quiet "$tmp/log.txt" 2> "$tmp/err"; then
  echo "--init with --resume was accepted"; exit 1
fi
cat "$tmp/err"
echo "--init with --resume refused: ok"
