#!/bin/sh
# mbzip as a tar filter: GNU tar -I / --use-compress-program in both directions
# (it calls the program with no option, then with -d), and bsdtar when installed
# (which runs the program as given in both directions: 'mbzip -d' to read).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

gnutar=
if tar --version 2>/dev/null | grep -q 'GNU tar'; then gnutar=tar; fi
bsdtar=
if command -v bsdtar >/dev/null 2>&1; then bsdtar=bsdtar; fi
if [ -z "$gnutar" ] && [ -z "$bsdtar" ]; then
    echo "SKIP: neither GNU tar nor bsdtar is installed"
    exit 77
fi

mkdir -p tree/sub "tree/with space"
# small files: the default level codes about 40 KB/s, and this is about tar, not ratio
head -c 16384 "$CORPORA/alice29.txt" >tree/alice29.txt
cp "$CORPORA/fields.c" tree/
head -c 8192 "$CORPORA/sum" >tree/sub/sum
printf 'x' >"tree/with space/one"
: >tree/empty
ln -s alice29.txt tree/link

# A wrapper with options, as one program name (works with every tar).
cat >mbz1 <<EOS
#!/bin/sh
exec "$MBZIP" -1 -T2 "\$@"
EOS
chmod +x mbz1

cmp_tree() { # cmp_tree DESC DIR
    if diff -r tree "$2/tree" >/dev/null 2>&1 && [ -L "$2/tree/link" ]; then ok "$1"; else fail "$1: trees differ"; fi
}

if [ -n "$gnutar" ]; then
    run 0 "GNU tar -I mbzip -c" tar -I "$MBZIP" -cf t1.tar.mbz tree
    check "GNU tar output is an mbzip stream" [ "$(head -c 4 t1.tar.mbz | od -An -tx1 | tr -d ' \n')" = 894d425a ]
    run 0 "the archive tests OK" mbz -t t1.tar.mbz
    mkdir x1
    run 0 "GNU tar -I mbzip -x" tar -I "$MBZIP" -xf t1.tar.mbz -C x1
    cmp_tree "GNU tar round trip" x1
    run 0 "GNU tar -t lists" tar -I "$MBZIP" -tf t1.tar.mbz
    stdout_has "GNU tar -t names a file" '^tree/sub/sum$'

    run 0 "GNU tar --use-compress-program with options" tar --use-compress-program="$T/mbz1" -cf t2.tmbz tree
    mkdir x2
    run 0 "GNU tar --use-compress-program -x" tar --use-compress-program="$T/mbz1" -xf t2.tmbz -C x2
    cmp_tree "GNU tar --use-compress-program round trip" x2
    if tar -I "$MBZIP -1 -T2" -cf t3.tar.mbz tree 2>/dev/null; then
        mkdir x3
        run 0 "GNU tar -I 'mbzip -1 -T2' -x" tar -I "$MBZIP -1 -T2" -xf t3.tar.mbz -C x3
        cmp_tree "GNU tar -I with arguments" x3
    fi
    # archive to stdout and from stdin
    run 0 "GNU tar -I to stdout" sh -c "tar -I \"\$MBZIP\" -cf - tree >t4.tar.mbz"
    mkdir x4
    run 0 "GNU tar -I from stdin" sh -c "tar -I \"\$MBZIP\" -xf - -C x4 <t4.tar.mbz"
    cmp_tree "GNU tar stdin/stdout round trip" x4
    # mbzip's own tar.mbz is what tar + mbzip make
    tar -cf plain.tar tree
    run 0 "decompressed archive is a plain tar" sh -c "\"\$MBZIP\" -dc t1.tar.mbz | tar -tf - >/dev/null"
    # a damaged archive makes tar fail
    sz=$(wc -c <t1.tar.mbz)
    head -c $((sz - 10)) t1.tar.mbz >bad.tar.mbz
    mkdir x5
    tar -I "$MBZIP" -xf bad.tar.mbz -C x5 >/dev/null 2>"$T/.stderr"
    check "GNU tar fails on a truncated archive" [ $? -ne 0 ]
    stderr_has "GNU tar shows mbzip's message" 'mbzip: '
else
    skip_check "GNU tar is not installed"
fi

if [ -n "$bsdtar" ]; then
    run 0 "bsdtar --use-compress-program=mbzip -c" bsdtar --use-compress-program="$MBZIP" -cf b1.tar.mbz tree
    run 0 "the bsdtar archive tests OK" mbz -t b1.tar.mbz
    mkdir y1
    run 0 "bsdtar --use-compress-program='mbzip -d' -x" bsdtar --use-compress-program="$MBZIP -d" -xf b1.tar.mbz -C y1
    cmp_tree "bsdtar round trip" y1
    run 0 "bsdtar with a wrapper -c" bsdtar --use-compress-program="$T/mbz1" -cf b2.tmbz tree
    mkdir y2
    run 0 "bsdtar -t with 'mbzip -dc'" bsdtar --use-compress-program="$T/mbz1 -dc" -tf b2.tmbz
    stdout_has "bsdtar -t lists a file" '^tree/sub/sum$'
    run 0 "bsdtar reads its archive through mbzip -dc" sh -c "\"\$MBZIP\" -dc b2.tmbz | bsdtar -xf - -C y2"
    cmp_tree "bsdtar + mbzip -dc round trip" y2
    if [ -n "$gnutar" ]; then
        mkdir y3
        run 0 "GNU tar reads bsdtar's archive" tar -I "$MBZIP" -xf b1.tar.mbz -C y3
        cmp_tree "bsdtar -> GNU tar" y3
    fi
else
    skip_check "bsdtar is not installed"
fi
finish
