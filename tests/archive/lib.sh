# lib.sh - set-up for the archive tests (tests/archive/*.sh): the CLI tests'
# helpers (tests/cli/lib.sh) plus a generated directory tree and a tree compare.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

if ! command -v python3 >/dev/null 2>&1; then
    echo "SKIP: python3 is needed to build and compare trees"
    exit 77
fi
TREECMP="python3 $top_srcdir/tests/archive/treecmp.py"

# make_tree DIR [SIZE]: nested and empty directories, a symbolic link (relative
# and dangling), hard links, unicode and spaced names, a 0-byte file, a file of
# SIZE random bytes (default 1 MB), assorted modes and fixed times.
# (The order-2 model of -1 codes well under 1 MB/s: keep the text small.)
make_tree() {
    _d=$1
    _big=${2:-1000000}
    mkdir -p "$_d/sub/deeper/deepest" "$_d/empty" "$_d/with space" "$_d/ünïcødé"
    head -c 5000 "$CORPORA/alice29.txt" >"$_d/alice.txt"
    head -c "$_big" /dev/urandom >"$_d/sub/one-mb.bin"   # stored: fast at any level
    : >"$_d/zero"
    printf 'spaced\n' >"$_d/with space/a file.txt"
    printf 'unicode\n' >"$_d/ünïcødé/fïlé ☃.txt"
    printf '#!/bin/sh\necho hi\n' >"$_d/sub/deeper/run.sh"
    chmod 755 "$_d/sub/deeper/run.sh"
    printf 'secret\n' >"$_d/sub/deeper/deepest/private"
    chmod 600 "$_d/sub/deeper/deepest/private"
    ln "$_d/alice.txt" "$_d/sub/alice-hardlink.txt"
    ln "$_d/alice.txt" "$_d/sub/deeper/alice-again.txt"
    ln -s ../alice.txt "$_d/sub/alice-symlink"
    ln -s does-not-exist "$_d/dangling"
    chmod 700 "$_d/sub/deeper/deepest"
    chmod 1777 "$_d/empty"
    touch -h -d '2001-02-03 04:05:06' "$_d/sub/alice-symlink" "$_d/dangling"
    touch -d '2001-02-03 04:05:06' "$_d/zero" "$_d/sub/one-mb.bin" "$_d/with space/a file.txt"
    touch -d '1999-12-31 23:59:59' "$_d/alice.txt" "$_d/sub/deeper/deepest" "$_d/empty" \
        "$_d/sub/deeper" "$_d/ünïcødé" "$_d/with space" "$_d/sub" "$_d"
}

# same_tree DESC A B
same_tree() {
    if $TREECMP "$2" "$3" >"$T/.treecmp" 2>&1; then ok "$1"; else
        fail "$1: trees differ"
        head -20 "$T/.treecmp"
    fi
}

# outside_untouched DESC DIR: DIR holds only what it held before (the file .before).
snapshot() { (cd "$1" && find . | sort) >"$2"; }
