# lib.sh - common set-up for the mbzip command-line tests; sourced by each
# tests/cli/*.sh. Each test runs in its own scratch directory and counts its failed
# checks; it exits 0 (all passed), 1 (a check failed), or 77 (skipped as a whole).
#
# Environment (set by `make check`, see TESTS_ENVIRONMENT in Makefile.am):
#   MBZIP         the mbzip under test (default: $top_builddir/mbzip)
#   top_srcdir    the source tree (corpora/, tests/files/)
#   top_builddir  the build tree

set -u
LC_ALL=C
export LC_ALL
unset MBZIP_MODEL MBZIP_MODEL_PATH
# ... but earlier default models, installed by `make install` (doc/format.md,
# "Models"), are found in the source tree's model/archive/ before installation
MBZIP_MODEL_PATH=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/model/archive
export MBZIP_MODEL_PATH

test_name=$(basename "$0" .sh)
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${MBZIP:=$top_builddir/mbzip}"
export top_srcdir top_builddir MBZIP

if [ ! -x "$MBZIP" ]; then
    echo "SKIP: $MBZIP is not built"
    exit 77
fi

mkdir -p "$top_builddir/tests" || exit 99
T=$(mktemp -d "$top_builddir/tests/tmp-$test_name.XXXXXX") || exit 99
T=$(cd "$T" && pwd)
failures=0
checks=0

cleanup() {
    if [ "$failures" -eq 0 ]; then
        chmod -R u+rwx "$T" 2>/dev/null
        rm -rf "$T"
    else
        echo "(scratch files kept in $T)"
    fi
}
trap cleanup EXIT

fail() {
    failures=$((failures + 1))
    checks=$((checks + 1))
    echo "FAIL: $*"
    if [ -s "$T/.stderr" ]; then
        echo "  stderr: $(head -c 600 "$T/.stderr")"
    fi
}

ok() {
    checks=$((checks + 1))
    [ -n "${VERBOSE_TESTS:-}" ] && echo "ok: $*"
    return 0
}

skip_check() {
    echo "SKIP (one check): $*"
}

# check DESC CMD...: a shell condition that must hold.
check() {
    _desc=$1
    shift
    if "$@"; then ok "$_desc"; else fail "$_desc"; fi
}

# damage FILE OFFSET: complement the byte at OFFSET (never a no-op, as writing a
# fixed value is where the file already holds it: 1 in 256 in random data)
damage() {
    _b=$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')
    printf "\\$(printf '%03o' $((255 - _b)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# mbz ARGS...: run mbzip (stdin from /dev/null unless redirected by the caller).
mbz() {
    "$MBZIP" "$@"
}

# run EXPECTED_STATUS DESC CMD...: run CMD with stdout in $T/.stdout and stderr in
# $T/.stderr (stdin: $RUN_STDIN, default /dev/null) and check its exit status.
run() {
    _want=$1
    _desc=$2
    shift 2
    "$@" <"${RUN_STDIN:-/dev/null}" >"$T/.stdout" 2>"$T/.stderr"
    rc=$?
    if [ "$rc" -ne "$_want" ]; then
        fail "$_desc: exit status $rc, expected $_want"
        return 1
    fi
    ok "$_desc"
    return 0
}

# stderr_has DESC REGEX: the last run's stderr matches the extended regex.
stderr_has() {
    if grep -Eq -- "$2" "$T/.stderr"; then ok "$1"; else fail "$1: stderr does not match /$2/"; fi
}

stdout_has() {
    if grep -Eq -- "$2" "$T/.stdout"; then ok "$1"; else
        fail "$1: stdout does not match /$2/"
        echo "  stdout: $(head -c 600 "$T/.stdout")"
    fi
}

# stderr_one_line DESC: exactly one line, of the form "mbzip: ...".
stderr_one_line() {
    _n=$(wc -l <"$T/.stderr")
    if [ "$_n" -eq 1 ] && grep -q '^mbzip: ' "$T/.stderr"; then ok "$1"; else
        fail "$1: expected one line 'mbzip: ...' on stderr, got $_n lines"
    fi
}

stderr_empty() {
    if [ -s "$T/.stderr" ]; then fail "$1: stderr not empty"; else ok "$1"; fi
}

# same DESC A B: files A and B are identical.
same() {
    if cmp -s -- "$2" "$3"; then ok "$1"; else fail "$1: $2 and $3 differ"; fi
}

exists() {
    if [ -e "$2" ] || [ -L "$2" ]; then ok "$1"; else fail "$1: $2 does not exist"; fi
}

absent() {
    if [ -e "$2" ] || [ -L "$2" ]; then fail "$1: $2 exists"; else ok "$1"; fi
}

# no_temp DESC DIR: no temporary output (.NAME.XXXXXX) is left in DIR.
no_temp() {
    _left=$(cd "$2" && ls -A | grep -E '^\..+\.[A-Za-z0-9]{6}$')
    if [ -n "$_left" ]; then fail "$1: temporary file left in $2: $_left"; else ok "$1"; fi
}

# A directory holding mbzip, mbunzip and mbcat as links to the real executable
# (a libtool wrapper script would hide the name it was called by).
alias_dir() {
    _real=$MBZIP
    if head -c 2 "$MBZIP" | grep -q '^#!'; then
        _d=$(cd "$(dirname "$MBZIP")" && pwd)
        if [ -x "$_d/.libs/lt-mbzip" ]; then
            _real=$_d/.libs/lt-mbzip
        else
            _real=$_d/.libs/mbzip
        fi
        LD_LIBRARY_PATH=$_d/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
        export LD_LIBRARY_PATH
    fi
    mkdir -p "$T/bin"
    for _n in mbzip mbunzip mbcat; do
        ln -sf "$_real" "$T/bin/$_n"
    done
    BIN=$T/bin
}

# Random (incompressible) bytes: gen_random N FILE.
gen_random() {
    head -c "$1" /dev/urandom >"$2"
}

# hang_guard SECONDS: the command prefix of a hang guard ("timeout N", or nothing
# where timeout is missing). A guard catches hangs, never slowness: the limit is
# multiplied by MBZ_TEST_TIME_SCALE, which make check sets to 10 in sanitizer builds.
hang_guard() {
    command -v timeout >/dev/null 2>&1 || return 0
    echo "timeout $(( $1 * ${MBZ_TEST_TIME_SCALE:-1} ))"
}

finish() {
    if [ "$failures" -ne 0 ]; then
        echo "$test_name: $failures of $checks checks failed"
        exit 1
    fi
    echo "$test_name: all $checks checks passed"
    exit 0
}

CORPORA=$top_srcdir/corpora
FILES=$top_srcdir/tests/files
cd "$T" || exit 99
