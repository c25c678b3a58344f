#!/bin/sh
# Corruption sweeps. Small valid streams are made now with `mbzip -1` (modelled,
# stored, run-length, multi-block, concatenated, empty); then every truncation and
# a few thousand seeded single-bit flips and byte substitutions are decoded
# in-process (reltool sweep, through mbz_decompress_buffer): each must fail with a
# valid status and a one-line message, or decode to exactly the original (counted;
# e.g. a flip in the free low bits of a payload's last byte). A smaller sample of
# mutants goes through the command line: exit status 1, one line "mbzip: ...", no
# crash (status >= 128), no hang (timeout 20 as a guard), and exit 0 only with
# the original bytes. Seeds are fixed: failures reproduce.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

RELTOOL=${RELTOOL:-$top_builddir/reltool}
[ -x "$RELTOOL" ] || { echo "SKIP: $RELTOOL is not built"; exit 77; }
TO=$(hang_guard 20)

# inputs (deterministic); the level-1 block size is read from a frame header
head -c 3000 "$CORPORA/alice29.txt" >text
"$RELTOOL" random 2000 7 >stored
head -c 5000 /dev/zero | tr '\0' x >rle
: >empty
run 0 "compress empty" mbz -1 -k empty
bs=$((1 << $(od -An -tu1 -j7 -N1 empty.mbz)))
echo "level 1 block size: $bs"
# multi: run-length, stored and modelled blocks (cheap to decode: many cases)
{ head -c $bs /dev/zero | tr '\0' a; "$RELTOOL" random $bs 8; head -c 3000 "$CORPORA/lcet10.txt"; } >multi
# multim: two modelled blocks (each case decodes a full block: few cases)
cat "$CORPORA/lcet10.txt" "$CORPORA/plrabn12.txt" "$CORPORA/alice29.txt" "$CORPORA/asyoulik.txt" \
    "$CORPORA/lcet10.txt" "$CORPORA/plrabn12.txt" | head -c $((bs + 5000)) >multim
for f in text stored rle multi multim; do
    run 0 "compress $f" mbz -1 -T2 -k "$f"
done
cat text.mbz empty.mbz rle.mbz stored.mbz >concat.mbz
cat text empty rle stored >concat

sweep() {
    if "$RELTOOL" sweep "$@" >"$T/.sweep" 2>"$T/.stderr"; then
        ok "sweep $*"
    else
        fail "sweep $*: exit status $?"
    fi
    cat "$T/.sweep"
}
# small files: every truncation; big ones: prefixes near headers + a spread. A
# mutant of a modelled block costs a decode (about 10 ms at level 1, mostly its
# tables' first touch): the counts keep this test near half a minute
sweep --seed 1 --flips 500 --subs 500 --trunc all text.mbz text
sweep --seed 2 --flips 300 --subs 300 --trunc all stored.mbz stored
sweep --seed 3 --flips 200 --subs 200 --trunc all rle.mbz rle
sweep --seed 4 --flips 100 --subs 100 --trunc all empty.mbz empty
sweep --seed 5 --flips 300 --subs 300 --trunc 300 concat.mbz concat
sweep --seed 6 --flips 300 --subs 300 --trunc 100 multi.mbz multi
sweep --seed 7 --flips 4 --subs 4 --trunc none multim.mbz multim

# through the command line
mkdir mut
"$RELTOOL" mutants --seed 11 30 text.mbz mut
mkdir mut/c mut/m
"$RELTOOL" mutants --seed 12 15 concat.mbz mut/c
"$RELTOOL" mutants --seed 13 15 multi.mbz mut/m
n_cli=0
n_same=0
for m in mut/*.mbz mut/c/*.mbz mut/m/*.mbz; do
    case $m in mut/c/*) orig=concat ;; mut/m/*) orig=multi ;; *) orig=text ;; esac
    n_cli=$((n_cli + 1))
    $TO "$MBZIP" -dc "$m" >"$T/.stdout" 2>"$T/.stderr"
    rc=$?
    if [ "$rc" -eq 0 ]; then
        if cmp -s "$T/.stdout" "$orig"; then
            n_same=$((n_same + 1))
            ok "$m: -dc exit 0 with the original bytes"
        else
            fail "$m: -dc exit 0 but the output differs from the original (silent corruption)"
        fi
        continue
    fi
    check "$m: -dc exit status 1 (got $rc)" [ "$rc" -eq 1 ]
    stderr_one_line "$m: -dc one-line message"
    $TO "$MBZIP" -t "$m" >/dev/null 2>"$T/.stderr"
    rc=$?
    check "$m: -t exit status 1 (got $rc)" [ "$rc" -eq 1 ]
    stderr_one_line "$m: -t one-line message"
    # file mode: no output, no temporary file left
    mkdir -p fm && cp "$m" fm/x.mbz
    $TO "$MBZIP" -d -k fm/x.mbz >/dev/null 2>"$T/.stderr"
    rc=$?
    check "$m: -d exit status 1 (got $rc)" [ "$rc" -eq 1 ]
    absent "$m: -d leaves no output" fm/x
    no_temp "$m: -d leaves no temporary file" fm
    rm -rf fm
done
echo "command line: $n_cli mutants, $n_same decoded to the original with exit 0, the rest exit 1"
finish
