#!/bin/sh
# SIGINT, SIGTERM and SIGHUP during compression of a larger file: the temporary
# output is removed, the input stays intact, no partial output, and the exit
# status is the signal's (128 + N). Best effort: if the work ends before the
# signal comes, that check is skipped.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

# A shell script's background jobs start with SIGINT ignored, and mbzip (like
# gzip) leaves ignored signals ignored: start it with the default actions.
if env --default-signal=INT true 2>/dev/null; then
    launch() { exec env --default-signal=INT,TERM,HUP "$@"; }
elif command -v perl >/dev/null 2>&1; then
    launch() { exec perl -e '$SIG{$_} = "DEFAULT" for qw(INT TERM HUP); exec @ARGV or die' "$@"; }
else
    echo "SKIP: needs env --default-signal or perl to undo the shell's ignored SIGINT"
    exit 77
fi

# About 24 MiB of text at the best level: slow enough to be interrupted.
: >big
while [ "$(wc -c <big)" -lt 25165824 ]; do
    cat "$CORPORA/alice29.txt" "$CORPORA/lcet10.txt" "$CORPORA/plrabn12.txt" "$CORPORA/asyoulik.txt" >>big
done
sum_before=$(cksum <big)
tested=0

for sig in INT TERM HUP; do
    case $sig in INT) num=2 ;; TERM) num=15 ;; HUP) num=1 ;; esac
    launch "$MBZIP" -9 -T1 big 2>"$T/.stderr" &
    pid=$!
    # wait for the temporary output to appear (at most 20 s)
    i=0
    while [ $i -lt 400 ]; do
        if ls -A | grep -q '^\.big\.mbz\.'; then break; fi
        if ! kill -0 $pid 2>/dev/null; then break; fi
        sleep 0.05
        i=$((i + 1))
    done
    if kill -s $sig $pid 2>/dev/null; then
        wait $pid
        rc=$?
        if [ "$rc" -eq 0 ]; then
            skip_check "SIG$sig: compression finished as the signal came"
        else
            check "SIG$sig: exit status 128+$num (got $rc)" [ "$rc" -eq $((128 + num)) ]
            absent "SIG$sig: no partial output" big.mbz
            no_temp "SIG$sig: temporary file removed" .
            check "SIG$sig: input intact" [ "$(cksum <big)" = "$sum_before" ]
            tested=$((tested + 1))
        fi
    else
        wait $pid
        skip_check "SIG$sig: compression finished before the signal"
    fi
    if [ ! -f big ]; then mbz -d big.mbz; fi
    rm -f big.mbz
done

# A signal while writing to standard output: it just dies; the input stays.
launch "$MBZIP" -9 -T1 -c big >big.out 2>/dev/null &
pid=$!
sleep 0.5
if kill -s INT $pid 2>/dev/null; then
    wait $pid
    rc=$?
    [ "$rc" -ne 0 ] && check "SIGINT with -c: exit status 130 (got $rc)" [ "$rc" -eq 130 ]
    check "SIGINT with -c: input intact" [ "$(cksum <big)" = "$sum_before" ]
else
    wait $pid
fi
no_temp "no temporary files at the end" .
if [ $tested -eq 0 ]; then
    echo "SKIP: compression always finished before a signal could be sent"
    exit 77
fi
finish
