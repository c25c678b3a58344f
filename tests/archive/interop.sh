#!/bin/sh
# mbzip -r archives are what `tar -I mbzip` makes and reads: GNU tar extracts
# mbzip -r's archives, mbzip -x extracts GNU tar's (and bsdtar's).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/archive/lib.sh"

make_tree small 3000
cat >mbz1 <<EOS
#!/bin/sh
exec "$MBZIP" -1 -T2 "\$@"
EOS
chmod +x mbz1

if tar --version 2>/dev/null | grep -q 'GNU tar'; then
    run 0 "mbzip -r" mbz -1 -T2 -r small
    mkdir g1
    run 0 "GNU tar -I mbzip -x of mbzip -r's archive" tar -I "$T/mbz1" -xf small.tar.mbz -C g1
    same_tree "GNU tar extracts the tree" small g1/small
    run 0 "GNU tar -I mbzip -c" tar -I "$T/mbz1" -cf gnu.tar.mbz small
    mkdir m1
    run 0 "mbzip -x of GNU tar's archive" mbz -x -C m1 gnu.tar.mbz
    same_tree "mbzip extracts GNU tar's tree" small m1/small
    run 0 "mbzip -lr of GNU tar's archive" mbz -lr gnu.tar.mbz
    stdout_has "lists GNU tar's entries" '^small/sub/deeper/run\.sh$'
else
    skip_check "GNU tar is not installed"
fi
if command -v bsdtar >/dev/null 2>&1; then
    # (bsdtar will not write UTF-8 names from pax headers in the C locale)
    for l in C.UTF-8 C.utf8 en_US.UTF-8; do
        if LC_ALL=$l bsdtar --version >/dev/null 2>&1 && locale -a 2>/dev/null | grep -qix "$(echo $l | sed 's/UTF-8/utf8/')"; then
            LC_ALL=$l; export LC_ALL; break
        fi
    done
    mkdir b1
    [ -f small.tar.mbz ] || mbz -1 -T2 -r small
    run 0 "bsdtar extracts mbzip -r's archive" bsdtar --use-compress-program="$T/mbz1 -d" -xf small.tar.mbz -C b1
    same_tree "bsdtar extracts the tree" small b1/small
    run 0 "bsdtar -c through mbzip" bsdtar --use-compress-program="$T/mbz1" -cf bsd.tar.mbz small
    mkdir m2
    run 0 "mbzip -x of bsdtar's archive" mbz -x -C m2 bsd.tar.mbz
    same_tree "mbzip extracts bsdtar's tree" small m2/small
else
    skip_check "bsdtar is not installed"
fi
finish
