#!/usr/bin/env bash
# Cross-build bit-exactness (run by .ci/run, not by make check: it builds mbzip twice).
#
#   bash tests/reliability/cross-build.sh [WORKDIR]
#
# Build A: gcc -O0, run with MBZIP_KERNEL=scalar (the plain C reference kernels).
# Build B: clang -O2 if clang is installed, else gcc -O3; the best kernel at run
#          time (and each SIMD kernel the machine has, forced).
# For every corpora/ file at level 1, and for MEGABYTE models made by tools/mkmodel
# (--tiny and --small, via --model) on small slices (the first 16 KiB of a few
# files, plus 16 KiB of bytes the model itself finds likely, so that blocks are
# really modelled: a random-weight model cannot compress text), and for the
# built-in trained models (default at level 6, fast at level 3), A and B must write
# identical .mbz bytes, and each must decode the other's output to the original.
# The model files both builds make must be identical too. Ends with one line
# "cross-build: PASS (N checks)" or "cross-build: FAIL (N of M checks failed)".
# Environment: JOBS (default 2), CC_A, CC_B, CFLAGS_A, CFLAGS_B.
set -u -o pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
W=${1:-$(mktemp -d "${TMPDIR:-/tmp}/mbz-cross.XXXXXX")}
mkdir -p "$W" && W=$(cd "$W" && pwd)
JOBS=${JOBS:-2}
CC_A=${CC_A:-gcc}
CFLAGS_A=${CFLAGS_A:--O0 -g}
if [ -z "${CC_B:-}" ]; then
    if command -v clang >/dev/null 2>&1; then CC_B=clang; CFLAGS_B=${CFLAGS_B:--O2}
    else CC_B=gcc; CFLAGS_B=${CFLAGS_B:--O3}; fi
fi
CFLAGS_B=${CFLAGS_B:--O2}
checks=0
failures=0
pass() { checks=$((checks + 1)); }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*"; }

if [ ! -x "$top/configure" ]; then
    (cd "$top" && autoreconf -fi >/dev/null 2>&1) || { echo "cross-build: FAIL (autoreconf)"; exit 1; }
fi
build() { # DIR CC CFLAGS
    echo "=== build $1: CC=$2 CFLAGS=$3"
    rm -rf "$W/$1" && mkdir -p "$W/$1"
    (cd "$W/$1" && "$top/configure" -q CC="$2" CFLAGS="$3" >configure.out 2>&1 &&
        make -j"$JOBS" libmbz.la mbzip mkmodel reltool >make.out 2>&1) ||
        { tail -n 20 "$W/$1/configure.out" "$W/$1/make.out" 2>/dev/null; echo "cross-build: FAIL (build $1)"; exit 1; }
}
build A "$CC_A" "$CFLAGS_A"
build B "$CC_B" "$CFLAGS_B"
A=$W/A/mbzip
B=$W/B/mbzip
D=$W/data
rm -rf "$D" && mkdir -p "$D"

# MODE: "scalar" for A; for B the default (best) kernel and each forced one that
# this machine has (a kernel that is not available is reported on stderr).
kernels_b=("")
for k in avx2 avx512; do
    if MBZIP_KERNEL=$k "$B" -V 2>&1 >/dev/null | grep -q 'not available'; then :; else kernels_b+=("$k"); fi
done
echo "=== B kernels: best${kernels_b[1]:+ ${kernels_b[*]:1}}"

# compare NAME FILE ARGS...: A (scalar) and B (each kernel) compress FILE with ARGS
compare() {
    local name=$1 f=$2 k out
    shift 2
    MBZIP_KERNEL=scalar "$A" -c -T1 "$@" "$f" >"$D/$name.a" 2>"$D/err" || { fail "$name: A compress: $(cat "$D/err")"; return; }
    for k in "${kernels_b[@]}"; do
        out=$D/$name.b${k:+-$k}
        MBZIP_KERNEL=$k "$B" -c -T3 "$@" "$f" >"$out" 2>"$D/err" || { fail "$name: B${k:+ ($k)} compress: $(cat "$D/err")"; continue; }
        if cmp -s "$D/$name.a" "$out"; then pass; else fail "$name: A (gcc -O0 scalar) and B${k:+ ($k)} ($CC_B $CFLAGS_B) wrote different bytes"; fi
    done
    MBZIP_KERNEL=scalar "$A" -dc -T2 "$@" "$D/$name.b" 2>"$D/err" | cmp -s - "$f" && pass ||
        fail "$name: A does not decode B's output to the original $(cat "$D/err")"
    "$B" -dc -T2 "$@" "$D/$name.a" 2>"$D/err" | cmp -s - "$f" && pass ||
        fail "$name: B does not decode A's output to the original $(cat "$D/err")"
}

echo "=== corpora, level 1"
for f in "$top"/corpora/*; do
    [ -f "$f" ] || continue
    case $f in *.md) continue ;; esac
    compare "l1-$(basename "$f")" "$f" -1
done

for preset in tiny small; do
    echo "=== MEGABYTE model (mkmodel --$preset), 16 KiB slices"
    "$W/A/mkmodel" "$D/$preset-a.mbzm" --$preset --seed 7 >/dev/null &&
        "$W/B/mkmodel" "$D/$preset-b.mbzm" --$preset --seed 7 >/dev/null ||
        { fail "mkmodel --$preset"; continue; }
    if cmp -s "$D/$preset-a.mbzm" "$D/$preset-b.mbzm"; then pass; else fail "mkmodel --$preset: A and B wrote different model files"; fi
    M=$D/$preset-a.mbzm
    for f in alice29.txt fields.c kennedy.xls; do
        head -c 16384 "$top/corpora/$f" >"$D/$preset-$f"
        compare "$preset-$f" "$D/$preset-$f" --model "$M"
    done
    MBZIP_KERNEL=scalar "$W/A/reltool" likely "$M" 16384 >"$D/$preset-likely" || fail "reltool likely"
    "$W/B/reltool" likely "$M" 16384 | cmp -s - "$D/$preset-likely" && pass ||
        fail "$preset: A and B disagree on the model's most likely bytes"
    compare "$preset-likely" "$D/$preset-likely" --model "$M"
    "$A" -l -v "$D/$preset-likely.a" >"$D/list" 2>&1
    echo "    $preset-likely: $(wc -c <"$D/$preset-likely.a") bytes for 16384 (modelled blocks must be smaller than 16384)"
    [ "$(wc -c <"$D/$preset-likely.a")" -lt 16000 ] && pass || fail "$preset: the likely bytes were not modelled (stored): the check proves less"
done

# the built-in trained models at a level that runs each
for ml in default:6 fast:3; do
    m=${ml%:*} level=${ml#*:}
    [ -f "$top/model/$m.mbzm" ] || continue
    echo "=== the $m model, 16 KiB slices, level $level"
    for f in alice29.txt fields.c; do
        head -c 16384 "$top/corpora/$f" >"$D/$m-$f"
        compare "$m-$f" "$D/$m-$f" "-$level"
    done
done

if [ "$failures" -eq 0 ]; then
    echo "cross-build: PASS ($checks checks; A: $CC_A $CFLAGS_A scalar, B: $CC_B $CFLAGS_B)"
    [ $# -eq 0 ] && rm -rf "$W"
    exit 0
fi
echo "cross-build: FAIL ($failures of $checks checks failed; files in $W)"
exit 1
