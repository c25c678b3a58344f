# common.sh - helpers for the mbtrain tests (sourced).
set -eu
: "${MBTRAIN:?MBTRAIN must point at the mbtrain binary}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mbtrain-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# A tiny model that trains in seconds.
TINY="--patch 4 --d-emb 16 --g-layers 2 --g-heads 2 --g-ff 64 --l-dim 32 --l-layers 1
      --l-heads 2 --l-ff 64 --ctx 256 --batch 8 --threads 1 --lr 3e-3 --warmup 20"

# gen_text FILE N: N lines of a generated, deterministic English-like text (a
# Park-Miller generator in awk: exact in double precision, so every awk gives the
# same bytes). Its entropy is low, so a model must learn it well below 8 bits/byte.
gen_text() {
  awk -v n="$2" 'BEGIN {
    split("the a every some no this that one my your", det, " ");
    split("cat dog bird model byte patch layer head token block file stream", noun, " ");
    split("sees eats reads writes codes predicts learns compresses", verb, " ");
    split("small large quick lazy red blue old new", adj, " ");
    s = 12345;
    for (i = 0; i < n; i++) {
      line = "";
      for (w = 0; w < 3; w++) {
        s = (s * 16807) % 2147483647; d = det[1 + s % 10];
        s = (s * 16807) % 2147483647; a = adj[1 + s % 8];
        s = (s * 16807) % 2147483647; o = noun[1 + s % 12];
        s = (s * 16807) % 2147483647; v = verb[1 + s % 8];
        line = line d " " a " " o " " v " ";
      }
      print line "and so on.";
    }
  }' > "$1"
}

# train_resumed CKPT OPTION...: train the tiny model with OPTIONs for 120 steps on
# $tmp/text.txt into CKPT, and again stopped at step 60 and resumed from that
# checkpoint (which must carry the options): the two checkpoints are byte-identical.
# $EXCL: the caller's exclusion flags.
train_resumed() {
  out=$1
  shift
  # shellcheck disable=SC2086
  "$MBTRAIN" $TINY "$@" $EXCL --steps 120 --eval-every 0 --quiet --ckpt "$out" "$tmp/text.txt"
  # shellcheck disable=SC2086
  "$MBTRAIN" $TINY "$@" $EXCL --steps 120 --stop-at 60 --eval-every 0 --quiet --ckpt "$tmp/half.ckpt" \
    "$tmp/text.txt"
  # shellcheck disable=SC2086
  "$MBTRAIN" --resume "$tmp/half.ckpt" --threads 1 $EXCL --eval-every 0 --quiet --ckpt "$tmp/resumed.ckpt" \
    "$tmp/text.txt"
  cmp "$out" "$tmp/resumed.ckpt"
  echo "resume exact: ok"
}

# check_export LOG WHAT: the export log LOG reports float and integer bits/byte, and
# the integer model loses at most 2% (plus a small absolute slack: tiny models are
# noisy) against the float one.
check_export() {
  set -- "$1" "$2" $(sed -n 's/.*float \([0-9.]*\) bpb, integer \([0-9.]*\) bpb.*/\1 \2/p' "$1")
  [ $# -eq 4 ] || { echo "$2: no float/integer result"; exit 1; }
  awk -v f="$3" -v i="$4" 'BEGIN { exit !(i <= f * 1.02 + 0.02) }' ||
    { echo "$2: integer $4 bpb loses more than 2% against float $3 bpb"; exit 1; }
  echo "$2: integer within 2% of float: ok"
}

# roundtrip_model MODEL TEXT WHAT: mbzip --model=MODEL compresses TEXT and gives it
# back byte for byte, under 3 bits/byte (the model learned something). Exits 77
# (skip) when mbzip is not built.
roundtrip_model() {
  if [ -z "${MBZIP:-}" ] || [ ! -x "$MBZIP" ]; then
    echo "mbzip not built: round trip skipped"
    exit 77
  fi
  "$MBZIP" --model="$1" -c "$2" > "$tmp/rt.mbz"
  "$MBZIP" --model="$1" -dc "$tmp/rt.mbz" > "$tmp/rt.back"
  cmp "$2" "$tmp/rt.back"
  rt_in=$(wc -c < "$2")
  rt_out=$(wc -c < "$tmp/rt.mbz")
  echo "$3: round trip: ok ($rt_in -> $rt_out bytes)"
  [ $((rt_out * 8)) -lt $((rt_in * 3)) ] || { echo "$3: compressed size $rt_out is too large"; exit 1; }
}
