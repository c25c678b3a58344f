#!/bin/sh
# Every tests/files/good-*.mbz (committed: old streams must keep decoding) gives
# its good-*.orig through -dc, -t, -d and pipes, and -l agrees.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

# the models this build can find: built in (the order-2 model, and the default and
# fast models unless configured --disable-default-model) and, through the model path that
# lib.sh sets, every earlier default model in model/archive/ (so the files made
# with a replaced default keep being decoded here: they are never skipped)
models=$(mbz --list-models | sed -n 's/^\([0-9a-f]\{16\}\)  [a-z].*/\1/p' | tr '\n' ' ')
for a in "$top_srcdir"/model/archive/*.mbzm; do
    [ -f "$a" ] || continue
    fp=$(basename "$a" .mbzm)
    case " $models " in
    *" $fp "*) ok "earlier default model $fp is found by fingerprint" ;;
    *) fail "earlier default model $fp (model/archive) is not found through the model path" ;;
    esac
done
n=0
for src in "$FILES"/good-*.mbz; do
    f=$(basename "$src")
    orig=$FILES/${f%.mbz}.orig
    # a frame made with the current default or fast model needs a build that has
    # it (not a --disable-default-model build): fingerprint = bytes 8-15, LE
    fp=$(od -An -tx1 -j8 -N8 "$src" | awk '{ for (i = NF; i >= 1; i--) printf "%s", $i }')
    case " $models " in
    *" $fp "*) ;;
    *) skip_check "$f: needs model $fp, which this build does not have"; continue ;;
    esac
    n=$((n + 1))
    exists "$f: has its .orig" "$orig"
    run 0 "$f: -dc" mbz -dc -T2 "$src"
    same "$f: -dc gives the original" "$T/.stdout" "$orig"
    run 0 "$f: -t" mbz -t "$src"
    cp "$src" "$f"
    run 0 "$f: -d" mbz -d "$f"
    same "$f: -d gives the original" "${f%.mbz}" "$orig"
    run 0 "$f: stdin" sh -c "\"\$MBZIP\" -d -T1 <\"$src\""
    same "$f: stdin gives the original" "$T/.stdout" "$orig"
    run 0 "$f: -l" mbz -l "$src"
    set -- $(sed -n 2p "$T/.stdout")
    check "$f: -l compressed size ($1)" [ "$1" = "$(wc -c <"$src")" ]
    check "$f: -l uncompressed size ($2)" [ "$2" = "$(wc -c <"$orig")" ]
done
check "good files found ($n)" [ "$n" -ge 6 ]

run 0 "-lv good-multiblock.mbz" mbz -lv "$FILES/good-multiblock.mbz"
set -- $(sed -n 2p "$T/.stdout")
check "good-multiblock: 3 blocks ($5)" [ "$5" = 3 ]
check "good-multiblock: 2 stored or run-length ($6)" [ "$6" = 2 ]
run 0 "-lv good-concat.mbz" mbz -lv "$FILES/good-concat.mbz"
set -- $(sed -n 2p "$T/.stdout")
check "good-concat: 4 frames ($7)" [ "$7" = 4 ]

# Recompressing the originals: deterministic whatever the thread count, and it
# decodes back. (Not compared with the committed files: how a writer cuts and
# codes blocks is its choice, not part of the format -- doc/format.md.)
for name in text stored rle multiblock empty; do
    mbz -1 -T1 -c "$FILES/good-$name.orig" >"re-$name.1"
    mbz -1 -T3 -c "$FILES/good-$name.orig" >"re-$name.3"
    same "good-$name: recompression does not depend on -T" "re-$name.1" "re-$name.3"
    if mbz -dc "re-$name.1" | cmp -s - "$FILES/good-$name.orig"; then ok "good-$name: recompression decodes"; else
        fail "good-$name: recompression does not decode to the original"; fi
done
finish
