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
