#!/bin/sh
# Run test_megabyte (golden hash, score/predict/batch consistency, parser robustness)
# under every kernel the CPU has. Exit 77 only if no kernel could be run.
: "${top_builddir:=.}"
T="$top_builddir/test_megabyte"
rc=0
for k in scalar avx2 avx512bw avx512; do
    case $k in
        scalar) ;;
        *) grep -q "${k%bw}" /proc/cpuinfo 2>/dev/null || { echo "kernel $k: CPU lacks it, skipped"; continue; } ;;
    esac
    echo "== MBZIP_KERNEL=$k"
    MBZIP_KERNEL=$k "$T"
    r=$?
    if [ $r -eq 77 ]; then exit 77; fi
    if [ $r -ne 0 ]; then echo "kernel $k: FAILED"; rc=1; fi
done
exit $rc
