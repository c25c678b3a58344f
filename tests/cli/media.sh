#!/bin/sh
# Media blocks (doc/format.md, "Audio blocks", "Image blocks"; src/lib/media.c,
# audio.c, image.c). Audio: the
# compressor finds a WAV file's samples by its header, in a file or after other
# bytes (a tar member), cuts blocks at their edges and codes them with the audio
# model. Round trips from files and pipes, -T1 == -T2, decoding on two threads, a
# header that straddles a block boundary still found, and a broken header left to
# the general stage (correct, only larger), a WAV file with the canonical header
# coded as one block. Uses tests/files/good-audio.orig: text, a WAV file (16-bit
# stereo, 60,001 bytes of samples), text; and a 32-bit WAV.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

cp "$top_srcdir/tests/files/good-audio.orig" wav.in
chmod u+w wav.in

run 0 "compress -1 -T1" mbz -1 -T1 -c wav.in
cp "$T/.stdout" a1.mbz
run 0 "compress -1 -T2" mbz -1 -T2 -c wav.in
same "-T2 == -T1" "$T/.stdout" a1.mbz
RUN_STDIN=wav.in run 0 "compress from a pipe" mbz -1 -T1 -c
same "pipe == file" "$T/.stdout" a1.mbz
run 0 "decode -T2" mbz -dc -T2 a1.mbz
same "decodes to the input" "$T/.stdout" wav.in
# random access into the samples (seekable.c decodes only the audio block)
run 0 "--offset into the samples" mbz -dc --offset=20000 --length=5000 a1.mbz
tail -c +20001 wav.in | head -c 5000 >part
same "--offset/--length: the same bytes" "$T/.stdout" part
size=$(wc -c <a1.mbz)
check "the samples are coded by the audio model ($size bytes of 63,767)" [ "$size" -lt 30000 ]
# -lv counts an audio block as what it is, not as stored (it once did)
run 0 "-lv" mbz -lv a1.mbz
set -- $(sed -n 2p "$T/.stdout")
check "-lv: 3 blocks ($5), none stored ($6)" [ "$5.$6" = 3.0 ]

# The WAV header 20 bytes before the end of a level-1 block (256 KiB): the block is
# cut at the header, which starts the next one.
head -c 262124 "$top_srcdir/corpora/lcet10.txt" >straddle.in
tail -c +3001 wav.in >>straddle.in
run 0 "straddling header: compress" mbz -1 -T1 -c straddle.in
cp "$T/.stdout" s.mbz
run 0 "straddling header: decode" mbz -dc s.mbz
same "straddling header: round trip" "$T/.stdout" straddle.in
# the same bytes with the signature broken: no audio blocks, a larger file
sed '1,$ s/RIFF/RIFZ/' straddle.in >broken.in
run 0 "broken header: compress" mbz -1 -T1 -c broken.in
cp "$T/.stdout" b.mbz
run 0 "broken header: decode" mbz -dc b.mbz
same "broken header: round trip" "$T/.stdout" broken.in
s=$(wc -c <s.mbz)
b=$(wc -c <b.mbz)
check "straddling header found ($s bytes; not found: $b)" [ "$s" -lt $((b - 10000)) ]

# at the default level too (MEGABYTE for the text), one block of audio
run 0 "-6: compress" mbz -6 -T2 -c wav.in
cp "$T/.stdout" a6.mbz
run 0 "-6: decode" mbz -dc a6.mbz
same "-6: round trip" "$T/.stdout" wav.in

# 32-bit samples (the audio model's revision 3): tests/files/good-audio-v15.orig, a
# WAV of 32-bit stereo (a 24-bit tone, 8 bits of noise under it) between texts. The
# noise alone is 12,000 bytes; xz -9e makes 49,596 bytes of the file.
run 0 "32-bit: compress -6 -T2" mbz -6 -T2 -c "$top_srcdir/tests/files/good-audio-v15.orig"
cp "$T/.stdout" a32.mbz
run 0 "32-bit: decode" mbz -dc a32.mbz
same "32-bit: round trip" "$T/.stdout" "$top_srcdir/tests/files/good-audio-v15.orig"
size=$(wc -c <a32.mbz)
check "32-bit: the samples are coded by the audio model ($size bytes of 51,765)" [ "$size" -lt 24000 ]

# A WAV file alone, with the canonical 44-byte header (the one in
# good-audio-v15.orig; the audio model's revision 4): one audio block, whose header
# the decoder writes; the same file with its RIFF size one more (not the canonical
# header) takes two blocks (the header through the general stage) and more bytes.
tail -c +2001 "$top_srcdir/tests/files/good-audio-v15.orig" | head -c 48044 >whole.wav
{ head -c 4 whole.wav; printf '\245'; tail -c +6 whole.wav; } >other.wav
for w in whole other; do
    run 0 "$w WAV: compress -6" mbz -6 -T1 -c $w.wav
    cp "$T/.stdout" $w.mbz
    run 0 "$w WAV: decode" mbz -dc $w.mbz
    same "$w WAV: round trip" "$T/.stdout" $w.wav
    run 0 "$w WAV: -lv" mbz -lv $w.mbz
    set -- $(sed -n 2p "$T/.stdout")
    eval "${w}_blocks=\$5"
done
check "canonical WAV header: 1 block ($whole_blocks), otherwise 2 ($other_blocks)" \
    [ "$whole_blocks.$other_blocks" = 1.2 ]
s=$(wc -c <whole.mbz)
o=$(wc -c <other.mbz)
check "canonical WAV header: at least 25 bytes less ($s bytes; otherwise $o)" [ "$s" -le $((o - 25)) ]

# Images: tests/files/good-image.orig holds a PPM and a BMP between texts
cp "$top_srcdir/tests/files/good-image.orig" img.in
chmod u+w img.in
run 0 "image: compress -1 -T1" mbz -1 -T1 -c img.in
cp "$T/.stdout" i1.mbz
run 0 "image: compress -1 -T2" mbz -1 -T2 -c img.in
same "image: -T2 == -T1" "$T/.stdout" i1.mbz
RUN_STDIN=img.in run 0 "image: compress from a pipe" mbz -1 -T1 -c
same "image: pipe == file" "$T/.stdout" i1.mbz
run 0 "image: decode -T2" mbz -dc -T2 i1.mbz
same "image: decodes to the input" "$T/.stdout" img.in
size=$(wc -c <i1.mbz)
check "image: the pixels are coded by the image model ($size bytes of 27,199)" [ "$size" -lt 13000 ]
run 0 "image: --offset into the BMP's pixels" mbz -dc --offset=21000 --length=3000 i1.mbz
tail -c +21001 img.in | head -c 3000 >part
same "image: --offset/--length: the same bytes" "$T/.stdout" part

finish
