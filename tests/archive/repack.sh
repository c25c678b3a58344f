#!/bin/sh
# mbzip --repack: .tar.gz, .zip, .tar.xz, .tar.zst -> .tar.mbz with the same
# entries; a damaged or unreadable input is an error and leaves no output.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/archive/lib.sh"

make_tree small 3000
tar -cf small.tar small || exit 99
gzip -c small.tar >small.tar.gz
entries=$(tar -tf small.tar | wc -l)

run 0 "--repack .tar.gz" mbz -1 -T2 --repack small.tar.gz
exists "makes .tar.mbz" small.tar.mbz
exists "keeps the input" small.tar.gz
run 0 "list the result" mbz -lr small.tar.mbz
check "same number of entries ($entries)" [ "$(wc -l <"$T/.stdout")" -eq "$entries" ]
mkdir x1
run 0 "extract the result" mbz -x -C x1 small.tar.mbz
same_tree "repacked tree is the original" small x1/small
run 1 "existing output not overwritten" mbz -1 -T2 --repack small.tar.gz
run 0 "-f overwrites" mbz -1 -T2 -f --repack small.tar.gz
no_temp "no temporary file" .

if command -v xz >/dev/null 2>&1; then
    xz -c small.tar >x.tar.xz
    run 0 "--repack .tar.xz" mbz -1 -T2 --repack x.tar.xz
    run 0 "list it" mbz -lr x.tar.mbz
    check "same entries" [ "$(wc -l <"$T/.stdout")" -eq "$entries" ]
fi
if command -v zstd >/dev/null 2>&1; then
    zstd -q -c small.tar >z.tar.zst
    run 0 "--repack .tar.zst" mbz -1 -T2 --repack z.tar.zst
    mkdir x3
    run 0 "extract it" mbz -x -C x3 z.tar.mbz
    same_tree "tar.zst repacked" small x3/small
fi

# A zip (made by python3's zipfile: regular files and directories)
python3 - <<'PY' || exit 99
import os, zipfile
with zipfile.ZipFile("small.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for root, dirs, files in sorted(os.walk("small")):
        for d in sorted(dirs):
            z.write(os.path.join(root, d))
        for f in sorted(files):
            p = os.path.join(root, f)
            if not os.path.islink(p):
                z.write(p)
PY
zentries=$(python3 -c 'import zipfile; print(len(zipfile.ZipFile("small.zip").namelist()))')
rm -f small.tar.mbz
run 0 "--repack .zip" mbz -1 -T2 -v --repack small.zip
stderr_has "-v reports entries" "$zentries entries"
run 0 "list it" mbz -lr small.tar.mbz
check "same entries as the zip ($zentries)" [ "$(wc -l <"$T/.stdout")" -eq "$zentries" ]
mkdir x2
run 0 "extract it" mbz -x -C x2 small.tar.mbz
same "zip content" small/sub/one-mb.bin x2/small/sub/one-mb.bin
same "zip unicode name" "small/ünïcødé/fïlé ☃.txt" "x2/small/ünïcødé/fïlé ☃.txt"

# To standard output
run 0 "--repack -c" sh -c '"$MBZIP" -1 -T2 -c --repack small.tar.gz | "$MBZIP" -lr'
check "stdout: same entries" [ "$(wc -l <"$T/.stdout")" -eq "$entries" ]

# Damaged inputs: an error, no output, no temporary file
sz=$(wc -c <small.tar.gz)
head -c $((sz / 2)) small.tar.gz >cut.tar.gz
run 1 "truncated .tar.gz" mbz -1 -T2 --repack cut.tar.gz
absent "no output" cut.tar.mbz
head -c 4000 /dev/urandom >junk.zip
run 1 "not an archive" mbz -1 -T2 --repack junk.zip
stderr_has "says so" 'junk\.zip: '
absent "no output" junk.tar.mbz

# A truncated tar whose entry declares 2^62 bytes (base-256 size; found by
# tests/fuzz/fuzz_archive.c): an error at once. Before the fix, freeing the tar
# writer closed it, which padded the entry to its declared size with zeros
# through the compressor, for ever (8 GiB declared in octal: 17 s).
python3 - <<'PY' || exit 99
import tarfile
ti = tarfile.TarInfo("huge")
ti.size = 1 << 62
with open("huge.tar", "wb") as f:
    f.write(ti.tobuf(format=tarfile.GNU_FORMAT) + b"x" * 512)
PY
TO=$(hang_guard 60)
run 1 "truncated tar declaring 2^62 bytes" $TO "$MBZIP" -1 -T2 --repack huge.tar
stderr_has "says it is truncated" 'huge\.tar: huge: .*runcated'
absent "no output" huge.tar.mbz
no_temp "no temporary file" .
finish
