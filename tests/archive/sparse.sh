#!/bin/sh
# A sparse file (holes read as zeros) compresses to run-length blocks quickly and
# round-trips. SPARSE_SIZE sets its size (256M in make check; sparse-long.sh: 5G,
# over 4 GiB).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/archive/lib.sh"

SIZE=${SPARSE_SIZE:-256M}
truncate -s "$SIZE" sparse 2>/dev/null || { echo "SKIP: truncate -s is not available"; exit 77; }
# some data in the middle and at the end
printf 'data in a sparse file\n' | dd of=sparse bs=1 seek=123456789 conv=notrunc 2>/dev/null
bytes=$(wc -c <sparse)
printf 'tail\n' | dd of=sparse bs=1 seek=$((bytes - 5)) conv=notrunc 2>/dev/null
run 0 "compress a $SIZE sparse file" mbz -1 -T2 -k sparse
csize=$(wc -c <sparse.mbz)
check "it compresses to under 0.1% ($csize bytes)" [ "$csize" -lt $((bytes / 1000)) ]
run 0 "decompress and compare" sh -c '"$MBZIP" -dc -T2 sparse.mbz | cmp - sparse'
run 0 "-l reports the size" mbz -l sparse.mbz
stdout_has "uncompressed size" " $bytes "
finish
