#!/usr/bin/env bash
# tools/fuzz.sh - build the libFuzzer harnesses (tests/fuzz/) with clang, ASan and
# UBSan, and run each for a bounded time. Called by `make fuzz` (tests/fuzz.am);
# works by hand too:
#
#   tools/fuzz.sh [TARGET...]          TARGET: frame modelfile roundtrip archive (default: all)
#
# Environment:
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_DIR       work directory (default ./fuzz-work): objects, binaries, the
#                  growing corpora (corpus/TARGET, kept between runs) and crashes/
#   FUZZ_CC        clang (default: clang, else clang-14)
#   FUZZ_ARGS      extra libFuzzer arguments (e.g. -max_len=65536)
#   FUZZ_BUILD_ONLY=1  build and write seeds, do not run
#   top_srcdir     source tree (default: this script's ..)
#   top_builddir   a configured build tree whose config.h to use (default: none,
#                  a minimal config.h is written)
#
# The library sources (src/lib/*.c) are compiled into the harnesses directly, with
# -fsanitize=fuzzer-no-link,address,undefined; so are the CLI's (src/cli/*.c but
# main.c) for the archive harness, which links the library compiled a second time
# with edge coverage only, and the system's libarchive (not instrumented).
# Crashes are crash-, leak-, timeout- and oom- artifacts (slow-unit- files, inputs
# over 10 s, are kept but not counted). Exit status: 0 if no target crashed, 1 if
# some did (the inputs are in FUZZ_DIR/crashes/), 2 if the build failed.
set -u -o pipefail

top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
top_srcdir=$(cd "$top_srcdir" && pwd)
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_DIR=${FUZZ_DIR:-$PWD/fuzz-work}
mkdir -p "$FUZZ_DIR" && FUZZ_DIR=$(cd "$FUZZ_DIR" && pwd)
targets=("$@")
all_targets=(frame modelfile roundtrip archive media)
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

CC=${FUZZ_CC:-}
if [ -z "$CC" ]; then
    for c in clang clang-14 clang-15 clang-16 clang-17 clang-18; do
        command -v "$c" >/dev/null 2>&1 && { CC=$c; break; }
    done
fi
if [ -z "$CC" ]; then
    echo "fuzz.sh: clang not found (libFuzzer needs clang: apt-get install clang)" >&2
    exit 2
fi
XXH_CFLAGS=$(pkg-config --cflags libxxhash 2>/dev/null || true)
XXH_LIBS=$(pkg-config --libs libxxhash 2>/dev/null || echo -lxxhash)
LA_CFLAGS=$(pkg-config --cflags libarchive 2>/dev/null || true)
LA_LIBS=$(pkg-config --libs libarchive 2>/dev/null || echo -larchive)

# ------------------------------------------------------------------ build
B=$FUZZ_DIR/build
mkdir -p "$B/obj" "$FUZZ_DIR/crashes"
if [ -n "${top_builddir:-}" ] && [ -f "$top_builddir/config.h" ]; then
    cp "$top_builddir/config.h" "$B/config.h.new"
else
    {
        echo '#define _GNU_SOURCE 1'
        case $(uname -m) in x86_64|amd64) echo '#define MBZ_X86_64 1' ;; esac
        [ -f "$top_srcdir/model/default.mbzm" ] && echo '#define MBZ_HAVE_DEFAULT_MODEL 1'
        echo '#define PACKAGE_VERSION "fuzz"'
    } >"$B/config.h.new"
fi
cmp -s "$B/config.h.new" "$B/config.h" || mv "$B/config.h.new" "$B/config.h"
rm -f "$B/config.h.new"

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS="-std=c11 -g -O2 $SAN -I$B -I$top_srcdir/src/lib -I$top_srcdir/tools $XXH_CFLAGS -pthread"

echo "fuzz.sh: building with $CC ($($CC --version | head -n 1))"
# compile OBJDIR FLAGS SRC...: each SRC into OBJDIR (again if it or a header
# changed); the objects in the array `built`.
compile() {
    local dir=$1 flags=$2 src o
    shift 2
    mkdir -p "$dir"
    built=()
    for src in "$@"; do
        o=$dir/$(basename "$src" .c).o
        if [ ! -f "$o" ] || [ "$src" -nt "$o" ] || [ "$B/config.h" -nt "$o" ] ||
           [ -n "$(find "$top_srcdir/src/lib" "$top_srcdir/src/cli" -name '*.h' -newer "$o" 2>/dev/null | head -n 1)" ]; then
            $CC $CFLAGS $flags -c "$src" -o "$o" || exit 2
        fi
        built+=("$o")
    done
}
model_obj=()
if grep -q 'define MBZ_HAVE_DEFAULT_MODEL' "$B/config.h"; then
    $CC -I"$B" -c "$top_srcdir/src/lib/builtin_models.S" -Wa,-I"$top_srcdir/model" -o "$B/obj/builtin_models.o" || exit 2
    model_obj=("$B/obj/builtin_models.o")
fi
# the library, fully instrumented (edges and comparisons)
compile "$B/obj" "-fsanitize=fuzzer-no-link" "$top_srcdir"/src/lib/*.c
objs=("${built[@]}" "${model_obj[@]}")
# for the archive harness: the CLI fully instrumented, the library with edge
# counters only (comparison tracing in the order-2 model's inner loop would cost
# two thirds of the time)
compile "$B/obj-cli" "-fsanitize=fuzzer-no-link $LA_CFLAGS" \
    "$top_srcdir"/src/cli/{archive,archive_pipe,archive_members,archive_read,archive_write,io,fileops,list}.c
cli_objs=("${built[@]}")
compile "$B/obj-edge" "-fsanitize-coverage=inline-8bit-counters,pc-table" "$top_srcdir"/src/lib/*.c
edge_objs=("${built[@]}" "${model_obj[@]}")
for t in frame modelfile roundtrip media; do
    $CC $CFLAGS -fsanitize=fuzzer "$top_srcdir/tests/fuzz/fuzz_$t.c" "${objs[@]}" $XXH_LIBS \
        -o "$B/fuzz_$t" || exit 2
done
$CC $CFLAGS $LA_CFLAGS -I"$top_srcdir/src/cli" -fsanitize=fuzzer "$top_srcdir/tests/fuzz/fuzz_archive.c" \
    "${cli_objs[@]}" "${edge_objs[@]}" $LA_LIBS $XXH_LIBS -o "$B/fuzz_archive" || exit 2
$CC $CFLAGS "$top_srcdir/tests/fuzz/mkseeds.c" "${objs[@]}" $XXH_LIBS -o "$B/mkseeds" || exit 2

# ------------------------------------------------------------------ seeds
S=$FUZZ_DIR/seeds
rm -rf "$S"
"$B/mkseeds" "$S" >/dev/null || exit 2
cp "$top_srcdir"/tests/files/*.mbz "$S/frame/" 2>/dev/null
for t in "${all_targets[@]}"; do
    [ -d "$top_srcdir/tests/fuzz/corpus/$t" ] && cp "$top_srcdir/tests/fuzz/corpus/$t"/* "$S/$t/" 2>/dev/null
done
[ -n "${FUZZ_BUILD_ONLY:-}" ] && { echo "fuzz.sh: built in $B, seeds in $S"; exit 0; }

# ------------------------------------------------------------------ run
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
total_execs=0
total_crashes=0
TIMEFORMAT='%U %S'
printf '%-10s %8s %12s %8s %8s %s\n' target seconds executions exec/s crashes "cpu (user+sys s)"
summary=()
for t in "${targets[@]}"; do
    case $t in
        frame) maxlen=16384 ;;
        modelfile) maxlen=131072 ;;
        roundtrip) maxlen=16384 ;;
        archive) maxlen=32768 ;;
        media) maxlen=65536 ;;
        *) echo "fuzz.sh: unknown target $t" >&2; exit 2 ;;
    esac
    C=$FUZZ_DIR/corpus/$t
    mkdir -p "$C"
    log=$FUZZ_DIR/$t.log
    before=$(ls "$FUZZ_DIR/crashes" | grep -Ec "^$t-(crash|leak|timeout|oom)-" || true)
    cpu=$( { time "$B/fuzz_$t" -max_total_time="$FUZZ_SECONDS" -timeout=30 -rss_limit_mb=3072 \
                -max_len=$maxlen -print_final_stats=1 \
                -artifact_prefix="$FUZZ_DIR/crashes/$t-" ${FUZZ_ARGS:-} "$C" "$S/$t" >"$log" 2>&1; } 2>&1 )
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    after=$(ls "$FUZZ_DIR/crashes" | grep -Ec "^$t-(crash|leak|timeout|oom)-" || true)
    crashes=$((after - before))
    [ -z "$execs" ] && execs=0
    total_execs=$((total_execs + execs))
    total_crashes=$((total_crashes + crashes))
    set -- $cpu
    printf '%-10s %8s %12s %8s %8s %s\n' "$t" "$FUZZ_SECONDS" "$execs" "${rate:-0}" "$crashes" "${1:-?}+${2:-?}"
    if [ "$crashes" -gt 0 ]; then
        summary+=("$t: $(ls -t "$FUZZ_DIR/crashes" | grep -E "^$t-(crash|leak|timeout|oom)-" | head -n "$crashes" | tr '\n' ' ')")
        grep -E 'ERROR: |FUZZ PROPERTY|SUMMARY:|runtime error' "$log" | head -n 5 | sed 's/^/    /'
    fi
done
echo "total: $total_execs executions, $total_crashes crashes (logs: $FUZZ_DIR/*.log)"
if [ "$total_crashes" -gt 0 ]; then
    printf 'crash inputs in %s/crashes: %s\n' "$FUZZ_DIR" "${summary[*]}"
    echo "replay one: $B/fuzz_TARGET FILE; keep it as a regression: tests/fuzz/corpus/TARGET/"
    exit 1
fi
exit 0
