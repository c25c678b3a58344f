#!/bin/sh
# The manual page and --help name the same options; the page formats cleanly.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

man1=$top_srcdir/man/mbzip.1
check "man/mbzip.1 exists" [ -f "$man1" ]
mbz --help >help.txt || fail "--help"
sed 's/\\-/-/g; s/\\f[BIRP]//g' "$man1" >man.txt

grep -Eo -- '--[a-z][a-z-]*' help.txt | sort -u >help.long
# (options of other programs in the examples excepted)
sed '/^\.SH EXAMPLES/,/^\.SH FILES/d' man.txt | grep -Eo -- '--[a-z][a-z-]*' | sort -u >man.long
missing=$(comm -23 help.long man.long | tr '\n' ' ')
check "every long option of --help is in the man page (${missing:-none missing})" [ -z "$missing" ]
extra=$(comm -13 help.long man.long | tr '\n' ' ')
check "every long option of the man page is in --help (${extra:-none extra})" [ -z "$extra" ]

# short options: "  -x, --long" lines of --help, and "-1 .. -9"
for o in $(sed -n 's/^  \(-[a-zA-Z0-9]\),.*/\1/p' help.txt) -1 -9; do
    if grep -Eq -- "(^|[ .\"])$o([ ,]|\$)" man.txt; then ok "man page has $o"; else fail "man page lacks $o"; fi
done
for word in mbunzip mbcat MBZIP_MODEL MBZIP_KERNEL "EXIT STATUS" "tar -I mbzip" .tmbz; do
    if grep -q -- "$word" man.txt; then ok "man page mentions $word"; else fail "man page lacks $word"; fi
done
for word in mbunzip mbcat MBZIP_MODEL MBZIP_KERNEL "Exit status" "tar -I mbzip"; do
    if grep -q -- "$word" help.txt; then ok "--help mentions $word"; else fail "--help lacks $word"; fi
done
check "--help fits in 80 columns" [ "$(awk 'length > 79' help.txt | wc -l)" -eq 0 ]

if command -v groff >/dev/null 2>&1; then
    groff -man -Tutf8 -ww -z "$man1" >groff.out 2>&1
    if [ -s groff.out ]; then fail "groff warnings: $(head -n 3 groff.out)"; else ok "groff -ww: no warnings"; fi
else
    skip_check "groff is not installed"
fi
finish
