#!/bin/sh
# lib_exports.sh - libmbz.so exports exactly the public API (src/lib/Makemodule.am):
#  1. src/lib/libmbz.sym (the list given to libtool's -export-symbols) names exactly
#     the functions declared in src/lib/mbz.h and src/lib/mbz_explain.h (the
#     --explain hook that mbzip calls), so a function added to or removed from a
#     header without the list, or the reverse, fails here, with or without a
#     shared library;
#  2. `nm -D --defined-only` of the built libmbz.so is exactly that list: an
#     internal function exported, or a public one missing, fails.
# Part 2 is skipped (exit 77, after part 1 passed) without a shared libmbz
# (--disable-shared) or without nm.
set -u
: "${top_srcdir:=.}"
: "${top_builddir:=.}"

lib_dir=$top_srcdir/src/lib
symfile=$lib_dir/libmbz.sym
T=${TMPDIR:-/tmp}/mbz-exports.$$
mkdir -p "$T" || exit 99
trap 'rm -rf "$T"' EXIT INT TERM

# Functions declared in a header: preprocessor lines and comments removed, then
# every mbz_ identifier directly followed by "(" (a function declarator; the
# typedefs of callbacks read "(*mbz_read_fn)(", so they do not match).
declared() {
    sed -e '/^[[:space:]]*#/d' "$1" | tr '\n' ' ' |
        sed -e 's:/\*[^*]*\*\{1,\}\([^/*][^*]*\*\{1,\}\)*/: :g' |
        grep -oE '(^|[^A-Za-z0-9_])mbz_[A-Za-z0-9_]+[[:space:]]*\(' |
        sed -e 's/^[^m]*//' -e 's/[[:space:]]*($//'
}

for h in "$lib_dir/mbz.h" "$lib_dir/mbz_explain.h" "$symfile"; do
    if [ ! -f "$h" ]; then echo "FAIL: $h not found"; exit 99; fi
done

fail=0
{ declared "$lib_dir/mbz.h"; declared "$lib_dir/mbz_explain.h"; } | LC_ALL=C sort -u >"$T/declared"
# the list: one name a line; blank lines ignored
grep -v '^[[:space:]]*$' "$symfile" | LC_ALL=C sort >"$T/listed"
if [ "$(LC_ALL=C sort -u "$T/listed" | wc -l)" -ne "$(wc -l <"$T/listed")" ]; then
    echo "FAIL: $symfile lists a name twice"; fail=1
fi
n=$(wc -l <"$T/declared")
if [ "$n" -lt 10 ]; then
    echo "FAIL: only $n functions found in mbz.h and mbz_explain.h (parser broken?)"
    exit 1
fi
# same_set WANT HAVE ONLY_IN_WANT ONLY_IN_HAVE: two sorted lists must be equal; the
# names on either side only are reported after the matching message.
same_set() {
    _a=$(LC_ALL=C comm -23 "$1" "$2")
    _b=$(LC_ALL=C comm -13 "$1" "$2")
    [ -z "$_a" ] || { echo "FAIL: $3 ($(echo $_a | wc -w)):" $_a; fail=1; }
    [ -z "$_b" ] || { echo "FAIL: $4 ($(echo $_b | wc -w)):" $_b; fail=1; }
}
same_set "$T/declared" "$T/listed" \
    "declared in mbz.h/mbz_explain.h but not in src/lib/libmbz.sym (not exported)" \
    "in src/lib/libmbz.sym but declared in neither mbz.h nor mbz_explain.h"
[ $fail -eq 0 ] && echo "PASS: src/lib/libmbz.sym = the $n functions of mbz.h and mbz_explain.h"
[ $fail -eq 0 ] || exit 1

. "${top_srcdir:-.}/tests/shared_libmbz.sh"
if ! command -v nm >/dev/null 2>&1; then
    echo "SKIP: nm not found"
    exit 77
fi

# Defined dynamic symbols, without version suffixes; symbols the linker itself
# may define in any shared object are not ours.
if ! nm -D --defined-only "$lib" >"$T/nm"; then
    echo "FAIL: nm -D --defined-only $lib failed"; exit 1
fi
awk 'NF >= 3 { print $3 } NF == 2 { print $2 }' "$T/nm" | sed 's/@.*//' |
    grep -vxE '_init|_fini|_edata|_end|__bss_start' | LC_ALL=C sort -u >"$T/exported"
same_set "$T/listed" "$T/exported" "public but not exported by $lib" \
    "exported by $lib but not public"
[ $fail -eq 0 ] && echo "PASS: $lib exports exactly the $(wc -l <"$T/exported") public functions"
exit $fail
