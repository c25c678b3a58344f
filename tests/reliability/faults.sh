#!/bin/sh
# Faults: a full output device, a file size limit, SIGINT/SIGTERM/SIGKILL during
# compression, a read error, unreadable input and unwritable directory (not as
# root: root ignores permissions), and an input that shrinks or vanishes while it
# is being compressed. No data may be lost: the input stays until a complete
# output is in place, and no failure is silent.
#
# Signals and the vanishing input need the compression to be under way when they
# come; the checks look only at outcomes, and a case whose compression ended first
# is skipped (reported), never failed.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

RELTOOL=${RELTOOL:-$top_builddir/reltool}
[ -x "$RELTOOL" ] || { echo "SKIP: $RELTOOL is not built"; exit 77; }
if env --default-signal=INT true 2>/dev/null; then
    launch() { exec env --default-signal=INT,TERM,HUP "$@"; }
elif command -v perl >/dev/null 2>&1; then
    launch() { exec perl -e '$SIG{$_} = "DEFAULT" for qw(INT TERM HUP); exec @ARGV or die' "$@"; }
else
    launch() { exec "$@"; }
fi

cp "$CORPORA/alice29.txt" small
"$RELTOOL" random 300000 3 >rand

# --- output device full
if [ -w /dev/full ]; then
    run 1 "-c > /dev/full" sh -c '"$MBZIP" -1 -c small >/dev/full'
    stderr_one_line "-c > /dev/full: one-line message"
    stderr_has "-c > /dev/full: says why" 'No space|space left|write'
    run 1 "-dc > /dev/full" sh -c '"$MBZIP" -1 -c small | "$MBZIP" -dc >/dev/full'
    stderr_has "-dc > /dev/full: says why" 'No space|space left|write'
else
    skip_check "/dev/full not writable"
fi

# --- a file size limit (ulimit -f) in file mode: with SIGXFSZ ignored, writes fail
# with EFBIG: exit 1, message, input kept, no output, no temporary file.
mkdir fs && cp rand fs/f
sum=$(cksum <rand)
sh -c 'trap "" XFSZ; ulimit -f 64; exec "$MBZIP" -1 fs/f' >"$T/.stdout" 2>"$T/.stderr"
rc=$?
check "ulimit -f (SIGXFSZ ignored): exit status 1 (got $rc)" [ "$rc" -eq 1 ]
stderr_one_line "ulimit -f: one-line message"
check "ulimit -f: input intact" [ "$(cksum <fs/f)" = "$sum" ]
absent "ulimit -f: no output" fs/f.mbz
no_temp "ulimit -f: no temporary file" fs
# With SIGXFSZ at its default action the process dies like SIGKILL: input kept,
# no f.mbz (a temporary file may remain: nothing can remove it).
sh -c 'trap - XFSZ; ulimit -f 64; exec "$MBZIP" -1 fs/f' >"$T/.stdout" 2>"$T/.stderr"
rc=$?
check "ulimit -f (SIGXFSZ default): killed or failed (got $rc)" [ "$rc" -ne 0 ]
check "ulimit -f (SIGXFSZ default): input intact" [ "$(cksum <fs/f)" = "$sum" ]
absent "ulimit -f (SIGXFSZ default): no f.mbz" fs/f.mbz
left=$(cd fs && ls -A | grep -v '^f$' | tr '\n' ' ')
[ -n "$left" ] && echo "note: after SIGXFSZ (default action) left in the directory: $left"
rm -rf fs

# --- a read error: /proc/self/mem reads fail with EIO at offset 0
if [ -r /proc/self/mem ]; then
    run 1 "read error (/proc/self/mem)" mbz -1 -c /proc/self/mem
    stderr_one_line "read error: one-line message"
fi

# --- permissions (root bypasses them)
if [ "$(id -u)" -eq 0 ]; then
    skip_check "unreadable input / unwritable directory: running as root, which ignores permissions"
else
    cp small unreadable && chmod 000 unreadable
    run 1 "unreadable input" mbz -1 unreadable
    stderr_one_line "unreadable input: one-line message"
    absent "unreadable input: no output" unreadable.mbz
    chmod 600 unreadable
    mkdir ro && cp small ro/f && chmod 555 ro
    run 1 "unwritable directory" mbz -1 ro/f
    stderr_one_line "unwritable directory: one-line message"
    exists "unwritable directory: input kept" ro/f
    chmod 755 ro
fi

# --- signals during compression of a file (~4 MiB of text at level 2, one thread)
: >big
while [ "$(wc -c <big)" -lt 4194304 ]; do cat "$CORPORA/lcet10.txt" "$CORPORA/plrabn12.txt" >>big; done
bigsum=$(cksum <big)
wait_tmp() {
    i=0
    while [ $i -lt 400 ]; do
        ls -A sig | grep -q '^\.big\.mbz\.' && return 0
        kill -0 "$1" 2>/dev/null || return 1
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}
for sig in INT TERM KILL; do
    rm -rf sig && mkdir sig && cp big sig/big
    (launch "$MBZIP" -2 -T1 sig/big) 2>"$T/.stderr" &
    pid=$!
    wait_tmp $pid
    kill -s $sig $pid 2>/dev/null
    wait $pid
    rc=$?
    if [ "$rc" -eq 0 ]; then
        skip_check "SIG$sig: compression finished first"
        continue
    fi
    check "SIG$sig: input intact" [ "$(cksum <sig/big)" = "$bigsum" ]
    absent "SIG$sig: no big.mbz" sig/big.mbz
    if [ $sig = KILL ]; then
        check "SIGKILL: status 137 (got $rc)" [ "$rc" -eq 137 ]
        left=$(cd sig && ls -A | grep -v '^big$' | tr '\n' ' ')
        check "SIGKILL: only a temporary-named file may remain ($left)" \
            sh -c "[ -z \"$left\" ] || echo \"$left\" | grep -Eq '^(\\.big\\.mbz\\.[A-Za-z0-9]{6} )+\$'"
    else
        no_temp "SIG$sig: temporary file removed" sig
        case $sig in INT) want=130 ;; TERM) want=143 ;; esac
        check "SIG$sig: exit status $want (got $rc)" [ "$rc" -eq $want ]
    fi
done

# --- the input shrinks while it is compressed: the output must not silently be a
# shorter file (and the input must not be removed on the strength of it)
rm -rf sig && mkdir sig && cp big sig/big
(launch "$MBZIP" -1 -T1 -k sig/big) 2>"$T/.stderr" &
pid=$!
if wait_tmp $pid; then
    : >sig/big
    wait $pid
    rc=$?
    if [ "$rc" -eq 0 ] && [ -f sig/big.mbz ]; then
        "$MBZIP" -dc sig/big.mbz >sig/back 2>/dev/null
        if cmp -s sig/back big; then
            skip_check "shrinking input: compression had read everything before the truncation"
        else
            fail "input truncated during compression: exit 0 and big.mbz holds $(wc -c <sig/back) of $(wc -c <big) bytes (no error: mbzip does not compare the bytes read with the size at the start)"
        fi
    else
        check "shrinking input: exit status 1 (got $rc)" [ "$rc" -eq 1 ]
        stderr_one_line "shrinking input: one-line message"
        absent "shrinking input: no output" sig/big.mbz
        no_temp "shrinking input: no temporary file" sig
    fi
else
    wait $pid
    skip_check "shrinking input: compression finished first"
fi

# --- the input is removed while it is compressed: the open file is still read to
# the end, so the output is complete; report what mbzip says about the removal
rm -rf sig && mkdir sig && cp big sig/big
(launch "$MBZIP" -1 -T1 sig/big) 2>"$T/.stderr" &
pid=$!
if wait_tmp $pid; then
    rm -f sig/big
    wait $pid
    rc=$?
    echo "note: input removed during compression: exit $rc, stderr: $(cat "$T/.stderr")"
    if [ -f sig/big.mbz ]; then
        "$MBZIP" -dc sig/big.mbz >sig/back 2>/dev/null
        same "removed input: the output holds all of it" sig/back big
    else
        check "removed input: without output, an error status (got $rc)" [ "$rc" -ne 0 ]
    fi
else
    wait $pid
    skip_check "removed input: compression finished first"
fi
finish
