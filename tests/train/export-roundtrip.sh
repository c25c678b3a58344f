#!/bin/sh
# export-roundtrip.sh - a trained tiny model is exported to an integer model file; the
# export reports float and integer bits/byte (the integer model may lose at most 2%
# plus a small absolute slack, as the tiny model's numbers are noisy); then mbzip
# compresses and decompresses with that model, byte-exact, and the model compresses
# the text it was trained on.
. "$(dirname "$0")/common.sh"
srcdir=${top_srcdir:-$(dirname "$0")/../..}
EXCL="--no-default-excludes --exclude-dir $srcdir/corpora"
gen_text "$tmp/text.txt" 1500
# shellcheck disable=SC2086
"$MBTRAIN" $TINY $EXCL --steps 120 --eval-every 0 --quiet --ckpt "$tmp/c.ckpt" "$tmp/text.txt"
# shellcheck disable=SC2086
"$MBTRAIN" export --quiet $EXCL --eval-windows 8 "$tmp/c.ckpt" "$tmp/m.mbzm" "$tmp/text.txt" > "$tmp/log"
cat "$tmp/log"
check_export "$tmp/log" "export"
roundtrip_model "$tmp/m.mbzm" "$tmp/text.txt" "export"
# int8 activations (model option bit 3): exported with --int8-act (its own integer
# bits/byte, within the same bounds), and set on the exported file by mbtrain
# int8-act, which changes the options word (file offset 56) and the trailer only;
# both round-trip
# shellcheck disable=SC2086
"$MBTRAIN" export --quiet --int8-act $EXCL --eval-windows 8 "$tmp/c.ckpt" "$tmp/m8.mbzm" "$tmp/text.txt" > "$tmp/log8"
cat "$tmp/log8"
check_export "$tmp/log8" "export --int8-act"
roundtrip_model "$tmp/m8.mbzm" "$tmp/text.txt" "export --int8-act"
"$MBTRAIN" int8-act "$tmp/m.mbzm" "$tmp/m8b.mbzm"
cmp -l "$tmp/m.mbzm" "$tmp/m8b.mbzm" > "$tmp/diff" || true
awk '$1 != 57 && $1 <= size - 8 { bad = 1 } END { exit bad }' size="$(wc -c < "$tmp/m.mbzm")" "$tmp/diff" ||
  { echo "mbtrain int8-act changed more than the options word and the trailer"; cat "$tmp/diff"; exit 1; }
grep -q '^ *57 *0 *10$' "$tmp/diff" || { echo "mbtrain int8-act: option bit 3 not set"; cat "$tmp/diff"; exit 1; }
roundtrip_model "$tmp/m8b.mbzm" "$tmp/text.txt" "mbtrain int8-act"
# a shorter attention window (mbtrain window): the ctx_patches word (file offset 52)
# and the trailer change, nothing else; it round-trips; a window that is not a
# multiple of the patch or longer than the model's is refused
patch=$(od -An -tu4 -j16 -N4 "$tmp/m.mbzm" | tr -d ' ')
ctx=$(od -An -tu4 -j52 -N4 "$tmp/m.mbzm" | tr -d ' ')
half=$(( (ctx / 2) * patch ))
"$MBTRAIN" window "$tmp/m.mbzm" "$tmp/mw.mbzm" "$half"
[ "$(od -An -tu4 -j52 -N4 "$tmp/mw.mbzm" | tr -d ' ')" = "$((ctx / 2))" ] ||
  { echo "mbtrain window: ctx_patches is not $((ctx / 2))"; exit 1; }
cmp -l "$tmp/m.mbzm" "$tmp/mw.mbzm" > "$tmp/diff" || true
awk '($1 < 53 || $1 > 56) && $1 <= size - 8 { bad = 1 } END { exit bad }' size="$(wc -c < "$tmp/m.mbzm")" "$tmp/diff" ||
  { echo "mbtrain window changed more than ctx_patches and the trailer"; cat "$tmp/diff"; exit 1; }
roundtrip_model "$tmp/mw.mbzm" "$tmp/text.txt" "mbtrain window"
for bad in $((half + 1)) $((ctx * patch + patch)); do
  if "$MBTRAIN" window "$tmp/m.mbzm" "$tmp/mx.mbzm" "$bad" 2> "$tmp/err"; then
    echo "mbtrain window accepted $bad bytes"; exit 1
  fi
  cat "$tmp/err"
done
# and a decoder without the model says so (the frame names the model)
if "$MBZIP" -dc "$tmp/rt.mbz" > /dev/null 2> "$tmp/err"; then
  echo "decoded without the model?"; exit 1
fi
cat "$tmp/err"
# Coded size against the model's ideal code length (sum of -log2 p over modelled
# bytes, from mbzip -b --csv): the range coder may add at most 0.1% (issue 3, test 4).
"$MBZIP" -b6 --csv -i 1 --model="$tmp/m.mbzm" "$tmp/text.txt" > "$tmp/bench.csv"
cat "$tmp/bench.csv"
awk -F, 'NR == 2 { ideal = $8; payload_bits = $10 * 8; if (ideal <= 0) exit 1;
                   printf "coded %d bits, ideal %.1f bits, overhead %.4f%%\n", payload_bits, ideal, (payload_bits / ideal - 1) * 100;
                   exit !(payload_bits <= ideal * 1.001 + 64) }
         END { if (NR < 2) exit 1 }' "$tmp/bench.csv" ||
  { echo "coded size exceeds the ideal code length by more than 0.1%"; exit 1; }
echo "coded size within 0.1% of the ideal: ok"
