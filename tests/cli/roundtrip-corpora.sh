#!/bin/sh
# Round trips of every file in corpora/ through files and through pipes
# (fast level and two threads: the point here is the tool, not the model), and
# one small file at the default level.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

n=0
for f in "$CORPORA"/*; do
    case $f in *.md) continue ;; esac
    [ -f "$f" ] || continue
    b=$(basename "$f")
    n=$((n + 1))
    cp "$f" "$b" && chmod u+w "$b"

    # file -> file.mbz -> file
    run 0 "$b: compress -1 -T2" mbz -1 -T2 "$b"
    absent "$b: input removed after compression" "$b"
    exists "$b: $b.mbz created" "$b.mbz"
    # through pipes: the same bytes as the file mode
    if cat "$f" | mbz -1 -T2 | cat >"$b.p.mbz"; then
        same "$b: pipe and file give the same stream" "$b.p.mbz" "$b.mbz"
    else
        fail "$b: mbzip in a pipe exited non-zero"
    fi
    run 0 "$b: decompress" mbz -d -T2 "$b.mbz"
    absent "$b: $b.mbz removed after decompression" "$b.mbz"
    same "$b: file round trip" "$f" "$b"
    if cat "$b.p.mbz" | mbz -d -T2 | cat | cmp -s - "$f"; then ok "$b: pipe round trip"; else
        fail "$b: round trip through pipes"; fi
    rm -f "$b" "$b.p.mbz"
done
check "corpora has files" [ "$n" -ge 5 ]

# The default level (the trained model) on a small text.
cp "$CORPORA/grammar.lsp" g.lsp
run 0 "default level compress" mbz -k -T2 g.lsp
run 0 "default level decompress" mbz -dc -T2 g.lsp.mbz
same "default level round trip" "$T/.stdout" g.lsp

# Level 2 (64 KiB blocks): three modelled blocks, decoded with one and two threads and
# with the blocks of a thread stepped one at a time or together (MBZIP_BATCH, which
# selects predict_batch): the same bytes whichever way.
head -c 140000 "$CORPORA/alice29.txt" >a3
run 0 "level 2 compress (3 blocks)" mbz -2 -k -T2 a3
for b in 1 3 8; do
    for t in 1 2; do
        if MBZIP_BATCH=$b "$MBZIP" -dc -T$t a3.mbz >a3.out 2>"$T/.stderr"; then
            same "level 2: decoded with MBZIP_BATCH=$b -T$t" a3.out a3
        else
            fail "level 2: decoding with MBZIP_BATCH=$b -T$t failed: $(cat "$T/.stderr")"
        fi
    done
done

# Level 9: strided inference (two passes of the model per byte, flags CM, MEDIA and
# STRIDED when the model has patches; with the order-2 stand-in of a build without
# the MEGABYTE model, flags CM and MEDIA), with RECORD and FILTER. Both are frame version 16 (every MEDIA frame). Deterministic in -T, decoded
# step by step and batched.
head -c 12000 "$CORPORA/alice29.txt" >a9
run 0 "level 9 compress -T1" mbz -9 -T1 -c a9
cp "$T/.stdout" a9.t1
run 0 "level 9 compress -T2" mbz -9 -T2 -c a9
same "level 9 output does not depend on -T" "$T/.stdout" a9.t1
v=$(od -An -tu1 -j4 -N1 a9.t1 | tr -d ' ')
fl=$(od -An -tu1 -j5 -N1 a9.t1 | tr -d ' ')
check "level 9: frame version 16 ($v)" [ "$v" = 16 ]
if mbz -V | grep -q 'default model: [0-9a-f]* megabyte'; then
    check "level 9 with MEGABYTE: flags CM, MEDIA, RECORD, FILTER and STRIDED ($fl)" [ "$fl" = 62 ]
else
    check "level 9 without MEGABYTE: flags CM, MEDIA, RECORD and FILTER ($fl)" [ "$fl" = 60 ]
fi
for b in 1 8; do
    if MBZIP_BATCH=$b "$MBZIP" -dc -T2 a9.t1 >a9.out 2>"$T/.stderr"; then
        same "level 9: decoded with MBZIP_BATCH=$b" a9.out a9
    else
        fail "level 9: decoding with MBZIP_BATCH=$b failed: $(cat "$T/.stderr")"
    fi
done
finish
