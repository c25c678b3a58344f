#!/bin/sh
# A large WAV through pipes in bounded memory: generator | mbzip | mbunzip | sha1sum,
# each mbzip under `ulimit -v`, the output byte for byte the generator's, and the
# samples coded by the audio model (the stream shrinks to well under half).
# MEDIA_MB sets the size of the samples (32 in make check; media-stream-long.sh runs
# 2 GiB, the "1 GB WAV" of issue 14 twice over). The samples repeat the 60,000
# bytes of 16-bit stereo tones of tests/files/good-audio.orig.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/archive/lib.sh"

MB=${MEDIA_MB:-32}
LIMIT_KB=${MEDIA_LIMIT_KB:-160000}
MALLOC_ARENA_MAX=1      # as in stream.sh: address space that follows what is used
export MALLOC_ARENA_MAX
if ! (ulimit -v "$LIMIT_KB") 2>/dev/null; then
    echo "SKIP: ulimit -v is not available"
    exit 77
fi
if ! (ulimit -v "$LIMIT_KB"; exec "$MBZIP" -V) >/dev/null 2>&1; then
    echo "SKIP: $MBZIP does not start under ulimit -v $LIMIT_KB (sanitizer build?)"
    exit 77
fi
command -v sha1sum >/dev/null 2>&1 || { echo "SKIP: no sha1sum"; exit 77; }

tail -c +3045 "$top_srcdir/tests/files/good-audio.orig" | head -c 60000 >chunk
N=$((MB * 1048576))
le16() { printf "$(printf '\\%03o\\%03o' $(($1 & 255)) $(($1 >> 8 & 255)))"; }
le32() { le16 $(($1 & 65535)); le16 $(($1 >> 16 & 65535)); }
gen() {
    printf 'RIFF'; le32 $((36 + N)); printf 'WAVEfmt '; le32 16; le16 1; le16 2
    le32 22050; le32 88200; le16 4; le16 16; printf 'data'; le32 $N
    while cat chunk; do :; done | head -c $N
}

rm -f fifo
mkfifo fifo || exit 99
sha1sum <fifo >in.sum &
summer=$!
gen | tee fifo | (ulimit -v "$LIMIT_KB"; exec "$MBZIP" -1 -T2) | tee z.tmp |
    (ulimit -v "$LIMIT_KB"; exec "$MBZIP" -d -T2) | sha1sum >out.sum
wait $summer
z=$(wc -c <z.tmp)
rm -f z.tmp
if [ -s in.sum ] && [ "$(cut -d' ' -f1 in.sum)" = "$(cut -d' ' -f1 out.sum)" ]; then
    ok "$MB MiB WAV through pipes under ulimit -v $LIMIT_KB round-trips"
else
    fail "$MB MiB WAV differs after the round trip ($(cat in.sum) / $(cat out.sum))"
fi
check "the samples went to the audio model ($z bytes for $N)" [ "$z" -lt $((N / 2)) ]
finish
