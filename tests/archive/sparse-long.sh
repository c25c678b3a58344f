#!/bin/sh
# make check-long: sparse.sh with a 5 GiB file (over 4 GiB: 64-bit sizes).
SPARSE_SIZE=${SPARSE_SIZE:-5G}
export SPARSE_SIZE
exec sh "${top_srcdir:-$(dirname "$0")/../..}/tests/archive/sparse.sh"
