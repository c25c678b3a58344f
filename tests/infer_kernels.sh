#!/bin/sh
# Run test_megabyte (golden hash, score/predict/batch consistency, parser robustness),
# test_conv (the same for the convolutional patch encoder) and test_cm (golden hashes
# of the binary context-mixing stage, whose per-bit code has a variant per kernel
# set, cm.c) under every kernel the CPU has. Exit 77 only if no kernel could be run.
: "${top_builddir:=.}"
rc=0
for k in scalar avx2 avx512bw avx512; do
    case $k in
        scalar) ;;
        *) grep -q "${k%bw}" /proc/cpuinfo 2>/dev/null || { echo "kernel $k: CPU lacks it, skipped"; continue; } ;;
    esac
    for T in "$top_builddir/test_megabyte" "$top_builddir/test_conv" "$top_builddir/test_cm"; do
        echo "== MBZIP_KERNEL=$k $(basename "$T")"
        MBZIP_KERNEL=$k "$T"
        r=$?
        if [ $r -eq 77 ]; then exit 77; fi
        if [ $r -ne 0 ]; then echo "kernel $k $(basename "$T"): FAILED"; rc=1; fi
    done
done
exit $rc
