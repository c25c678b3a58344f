#!/bin/sh
# make-test-files.sh - regenerate tests/files/: good-*.mbz with their originals
# (good-*.orig) and bad-*.mbz, damaged on purpose, plus tests/files/README.
#
#   tools/make-test-files.sh [MBZIP [OUTDIR]]
#
# MBZIP defaults to ./mbzip (a built mbzip; from a build tree, pass its path),
# OUTDIR to tests/files beside this script. Needs python3 (for the byte surgery and
# a pure-Python XXH64, to recompute header checks so that a damaged field is
# reached by the reader instead of being stopped by the header's own check).
#
# The files are committed: the tests must not depend on python3, and the good
# files pin down the format (doc/format.md): a change that stops them decoding is a
# format change. Run it to add good files of a new kind: the good files already
# there are kept byte for byte (below), the bad files are made afresh from them.
#
# Byte positions (doc/format.md, version 1; little-endian):
#   frame header  20 bytes: magic 0-3, version 4, flags 5, level 6, block_log 7,
#                           fingerprint 8-15, header_check 16-19
#   block header  21 bytes: type 0, content_size 1-4, payload_size 5-8,
#                           checksum 9-16, header_check 17-20; payload follows
#   end mark      21 bytes: type 0 (=0), total_size 1-8, checksum 9-16,
#                           header_check 17-20
#   header_check = low 32 bits of XXH64(the header's bytes before it, seed 0)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
MBZIP=${1:-./mbzip}
OUT=${2:-$here/../tests/files}
CORPORA=$(cd "$here/../corpora" && pwd)
export CORPORA
case $MBZIP in /*) ;; *) MBZIP=$(pwd)/$MBZIP ;; esac
[ -x "$MBZIP" ] || { echo "usage: $0 [MBZIP [OUTDIR]] (no executable $MBZIP)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "$0: needs python3" >&2; exit 1; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
# Every good file already in OUTDIR is kept byte for byte: a committed good file
# pins the format as it was written then (an earlier frame version, an earlier
# default model, an earlier level table), and "every good file decodes forever" is
# only tested if it never changes. So the good files are moved aside, everything is
# made afresh, and the kept ones are moved back over the fresh ones before the bad
# files are made from them: only good files that did not exist are added. Some can
# no longer be made at all (the 256-way mixing stage: good-text-mix, good-text9;
# earlier default models: good-text9-cm, good-text6-cm, good-text6-v5,
# good-text6-v10, good-text6-v16; from the next change of the default model on,
# good-text6-w2k too, and good-text3-fast from the next change of the fast model):
# they must be there. The bad files are always made afresh (bad-cpu-bomb.mbz, found by
# tests/reliability, is not made here and is kept).
for f in "$OUT"/bad-*.mbz; do
    case ${f##*/} in bad-cpu-bomb.mbz) ;; *) rm -f "$f" ;; esac
done
cd "$OUT"
rm -rf .kept
mkdir .kept
for f in good-*; do
    [ -f "$f" ] && mv "$f" .kept/
done

# ---------------------------------------------------------------- good files
# Fixed inputs (no randomness: a fixed generator), the fastest level where the
# point is the container, -T1.
: >good-empty.orig
cp "$CORPORA/grammar.lsp" good-text.orig
chmod 644 good-text.orig
# Level 1's block size (byte 7 of the frame header is its log2): the multi-block
# sample is made of blocks of that size whatever the level table says.
"$MBZIP" -1 -T1 -c good-text.orig >probe.mbz
MBZ_BLOCK=$(python3 -c 'import sys; print(1 << open(sys.argv[1], "rb").read()[7])' probe.mbz)
export MBZ_BLOCK
rm -f probe.mbz
python3 - <<'EOF'
import random
r = random.Random(20261122)
open("good-stored.orig", "wb").write(bytes(r.getrandbits(8) for _ in range(20000)))
open("good-rle.orig", "wb").write(b"x" * 100000)
# 3 blocks at level 1: run-length (zeros), modelled (a repeated sentence: codes
# to little, so the committed files stay small), stored (random tail)
import os
B = int(os.environ["MBZ_BLOCK"])
line = b"The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs.\n"
text = line * (B // len(line) + 1)
open("good-multiblock.orig", "wb").write(b"\0" * B + text[:B] +
                                         bytes(r.getrandbits(8) for _ in range(3000)))
EOF
# frame version 1 files (no mixing stage), then version 2 (MIX flag), then version 3
# (STRIDED flag: level 9 with the built-in MEGABYTE model; this file can only be
# decoded by a build that has that model, and tests/cli/good-files.sh skips it in
# builds without it)
"$MBZIP" -1 -T1 --no-mix -c good-empty.orig >good-empty.mbz
"$MBZIP" -1 -T1 --no-mix -c good-text.orig >good-text.mbz
"$MBZIP" -6 -T1 --no-mix -c good-text.orig >good-text6.mbz && cp good-text.orig good-text6.orig
"$MBZIP" -1 -T1 --no-mix -c good-stored.orig >good-stored.mbz
"$MBZIP" -1 -T1 --no-mix -c good-rle.orig >good-rle.mbz
"$MBZIP" -1 -T1 --no-mix -c good-multiblock.orig >good-multiblock.mbz
# frame version 8 (flag INDEX): the same three blocks and a seek index after the end mark
"$MBZIP" -1 -T1 --no-mix --index -c good-multiblock.orig >good-index.mbz && cp good-multiblock.orig good-index.orig
# frame version 4 (flag CM): good-text-cm.mbz (level 1) and good-text6-cm.mbz (level
# 6, model 355f8524606d011f), and frame version 5 with the default model:
# good-text6-v5.mbz (level 6, model 36ca1b19def4a03f) and frame version 10:
# good-text6-v10.mbz (level 6, model a1d3426d36c27e9f) and frame version 16:
# good-text6-v16.mbz (level 6, model 7f1d0cf31578a4bc): kept (above), not made here
# frame version 16 with the default model (d8714b5e5950efbe since 2026-12-07: stage 4
# of the training run with a 2 KiB window): good-text6-w2k.mbz, level 6
"$MBZIP" -6 -T1 -c good-text.orig >good-text6-w2k.mbz && cp good-text.orig good-text6-w2k.orig
# frame version 16 with the fast model of levels 2-4 (3c12d392bb87d8d5 since 2026-12-06,
# late): good-text3-fast.mbz, level 3
"$MBZIP" -3 -T1 -c good-text.orig >good-text3-fast.mbz && cp good-text.orig good-text3-fast.orig
# frame version 5 (flags CM and MEDIA; the committed ones are kept, this mbzip would
# write a later version): text, a WAV file (16-bit stereo, with an odd data size: a partial frame and a pad
# byte), more text, at level 1: modelled, audio and modelled blocks
python3 - <<'EOF'
import struct
r = 12345
def rnd():
    global r
    r = (r * 6364136223846793005 + 1442695040888963407) % 2**64
    return r >> 33
y = [[3000, 0], [2000, 0]]
frames = []
for i in range(15000):
    s = 0
    for k, c in enumerate((16000, 15500)):
        v = ((c * y[k][0]) >> 13) - y[k][1]
        y[k][1] = y[k][0]; y[k][0] = v; s += v
    frames.append(struct.pack("<hh", s * 4 // 6 + rnd() % 16 - 8, s * 5 // 6 + rnd() % 16 - 8))
data = b"".join(frames) + b"\x01"
wav = (b"RIFF" + struct.pack("<I", 4 + 24 + 8 + len(data) + 1) + b"WAVEfmt " +
       struct.pack("<IHHIIHH", 16, 1, 2, 22050, 22050 * 4, 4, 16) +
       b"data" + struct.pack("<I", len(data)) + data + b"\0")
text = open("good-text.orig", "rb").read()
open("good-audio.orig", "wb").write(text[:3000] + wav + text[3000:6000])
EOF
"$MBZIP" -1 -T1 -c good-audio.orig >good-audio.mbz
# and images: text, a PPM (96 x 64 RGB, with a comment), a BMP (41 x 40, 24-bit,
# rows padded by one byte), more text: modelled, image, modelled, image, modelled
python3 - <<'EOF'
import struct
r = 4242
def rnd():
    global r
    r = (r * 6364136223846793005 + 1442695040888963407) % 2**64
    return r >> 33
def pix(x, y, c):
    v = (x * 3 + y * 2 + c * 40) % 256
    if (x // 16 + y // 16) % 3 == 0:
        v = 255 - v
    return max(0, min(255, v + rnd() % 5 - 2))
ppm = b"P6\n# mbzip test image\n96 64\n255\n" + bytes(pix(x, y, c) for y in range(64) for x in range(96) for c in range(3))
rows = []
for y in range(40):
    rows.append(bytes(pix(x, y, c) for x in range(41) for c in range(3)) + b"\0")
pixels = b"".join(rows)
bmp = (b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54) +
       struct.pack("<IiiHHIIiiII", 40, 41, 40, 1, 24, 0, len(pixels), 2835, 2835, 0, 0) + pixels)
text = open("good-text.orig", "rb").read()
open("good-image.orig", "wb").write(text[:2000] + ppm + bmp + text[2000:4000])
EOF
"$MBZIP" -1 -T1 -c good-image.orig >good-image.mbz
# frame version 6 (flags CM, MEDIA and RECORD; the committed one is kept): text, 400 binary records of 20 bytes (a counter, a
# rising time, a small value, a code of four, a flag), more text, at level 1: one
# modelled block whose record model finds the length
python3 - <<'EOF'
import struct
r = 777
def rnd():
    global r
    r = (r * 6364136223846793005 + 1442695040888963407) % 2**64
    return r >> 33
t, recs = 1000000, []
for i in range(400):
    t += rnd() % 90
    recs.append(struct.pack("<IIh6sBx", i, t, rnd() % 601 - 300,
                            (b"EURUSD", b"GBPUSD", b"USDJPY", b"AUDCAD")[rnd() % 4], rnd() % 4))
text = open("good-text.orig", "rb").read()
open("good-record.orig", "wb").write(text[:1500] + b"".join(recs) + text[1500:3000])
EOF
"$MBZIP" -1 -T1 -c good-record.orig >good-record.mbz
# frame version 7 (flags CM, MEDIA, RECORD and FILTER): text and 24 KB of synthetic
# x86 code (short instructions and near CALLs to 40 functions of the block), at
# level 1: one modelled block coded through the x86 branch filter (filter id 1)
python3 - <<'EOF'
import struct
r = 4711
def rnd():
    global r
    r = (r * 6364136223846793005 + 1442695040888963407) % 2**64
    return r >> 33
n = 24000
fn = [rnd() % n for _ in range(40)]
code, i = bytearray(), 0
while i < n:
    if rnd() % 12 == 0 and i + 5 <= n:
        code += b"\xe8" + struct.pack("<i", fn[rnd() % 40] - (i + 5)); i += 5
    else:
        code.append(0x40 + rnd() % 0x40); i += 1
text = open("good-text.orig", "rb").read()
open("good-x86.orig", "wb").write(text[:1000] + bytes(code) + text[1000:2000])
EOF
"$MBZIP" -1 -T1 -c good-x86.orig >good-x86.mbz
# frame version 9 (the binary stage's revision 2): text, the records and the x86
# code of the two files above, one modelled block
cat good-text.orig good-record.orig good-x86.orig >good-v9.orig
"$MBZIP" -1 -T1 -c good-v9.orig >good-v9.mbz
# frame version 10 (1-bit images; the committed one is kept, this mbzip would write a
# later version): text, a PBM (P4) page of 400 x 100 pixels, a
# 1-bit BMP of 397 x 100 (rows of 50 bytes padded to 52, bottom-up, a two-colour
# palette), more text: modelled, image, modelled, image, modelled
python3 - <<'EOF'
import struct
r = 1234
def rnd():
    global r
    r = (r * 6364136223846793005 + 1442695040888963407) % 2**64
    return r >> 33
font = []
for g in range(16):            # glyphs of two strokes and a bar, 8 x 12
    a, b, bar = rnd() % 4, 4 + rnd() % 4, rnd() % 12
    font.append([(0x80 >> a | 0x80 >> b) | (((0xff >> a) & (0xff << (7 - b)) & 0xff) if y == bar else 0)
                 for y in range(12)])
def page(w, h):
    rows = []
    for line in range(0, h, 20):
        xs, x = [], 16
        while x + 12 < w:
            if rnd() % 5:
                xs.append((x, rnd() % 16))
            x += 10
        for y in range(20):
            bits = [0] * w
            for x, g in xs:
                if 4 <= y < 16:
                    for c in range(8):
                        if font[g][y - 4] >> (7 - c) & 1:
                            bits[x + c] = 1
            rows.append(bits)
    return rows[:h]
def pack(bits, pad):
    out = bytearray((len(bits) + 7) // 8)
    for x, v in enumerate(bits):
        if v:
            out[x // 8] |= 0x80 >> (x % 8)
    return bytes(out) + b"\0" * pad
pbm = b"P4\n400 100\n" + b"".join(pack(r, 0) for r in page(400, 100))
rows = page(397, 100)
pixels = b"".join(pack(r, 2) for r in reversed(rows))
bmp = (b"BM" + struct.pack("<IHHI", 62 + len(pixels), 0, 0, 62) +
       struct.pack("<IiiHHIIiiII", 40, 397, 100, 1, 1, 0, len(pixels), 2835, 2835, 2, 0) +
       b"\0\0\0\0\xff\xff\xff\0" + pixels)
text = open("good-text.orig", "rb").read()
open("good-bilevel.orig", "wb").write(text[:2000] + pbm + bmp + text[2000:4000])
EOF
"$MBZIP" -1 -T1 -c good-bilevel.orig >good-bilevel.mbz
# frame version 10's image model (revision 2) on the pixels of good-image.orig (kept)
cp good-image.orig good-image-v10.orig
"$MBZIP" -1 -T1 -c good-image-v10.orig >good-image-v10.mbz
# frame version 11 (flag FAST; kept): level 1's fast binary stage, with its record
# model, on good-text.orig, 300 fixed-size records and good-text.orig again
python3 - <<'EOF'
import struct
text = open("good-text.orig", "rb").read()
recs = b"".join(struct.pack("<IIh6sH", i, 1000000 + 37 * i + (i * 7919) % 23, (i * 31) % 601 - 300,
                            (b"EURUSD", b"GBPUSD", b"USDJPY")[i % 3], i % 4) for i in range(300))
open("good-fast-v11.orig", "wb").write(text + recs + text)
EOF
"$MBZIP" -1 -T1 -c good-fast-v11.orig >good-fast-v11.mbz
# frame version 12 (the audio model's revision 2): text, a WAV of 8-bit sound in
# 16-bit mono samples (the low byte zero: coded with a shift of 8), more text
python3 - <<'EOF'
import struct
r = 2024
def rnd():
    global r
    r = (r * 6364136223846793005 + 1442695040888963407) % 2**64
    return r >> 33
y = [40, 0]
samples = []
for i in range(12000):
    v = ((16100 * y[0]) >> 13) - y[1]
    y[1] = y[0]; y[0] = v
    samples.append(struct.pack("<h", max(-128, min(127, v + rnd() % 5 - 2)) * 256))
data = b"".join(samples)
wav = (b"RIFF" + struct.pack("<I", 4 + 24 + 8 + len(data)) + b"WAVEfmt " +
       struct.pack("<IHHIIHH", 16, 1, 1, 8000, 8000 * 2, 2, 16) +
       b"data" + struct.pack("<I", len(data)) + data)
text = open("good-text.orig", "rb").read()
open("good-audio-v12.orig", "wb").write(text[:2500] + wav + text[2500:5000])
EOF
"$MBZIP" -1 -T1 -c good-audio-v12.orig >good-audio-v12.mbz
# frame version 12's image model (revision 3) on the pixels of good-image.orig
cp good-image.orig good-image-v12.orig
"$MBZIP" -1 -T1 -c good-image-v12.orig >good-image-v12.mbz
# frame version 13 (the binary stage's revision 3, doc/mixing.md): good-v9.orig at
# level 2 (the MEGABYTE model's tables as the base input; level 1's fast stage has no
# revisions), one modelled block
cp good-v9.orig good-v13.orig
"$MBZIP" -2 -T1 -c good-v13.orig >good-v13.mbz
# frame version 14's image model (revision 4: the sign first, the predictors'
# deviations as contexts) on the pixels of good-image.orig
cp good-image.orig good-image-v14.orig
"$MBZIP" -1 -T1 -c good-image-v14.orig >good-image-v14.mbz
# frame version 15 (the audio model's revision 3): text, a WAV of 32-bit stereo
# samples (a 24-bit tone in their top bits, noise in the low 8: split off), more text
python3 - <<'EOF'
import struct
r = 2026
def rnd():
    global r
    r = (r * 6364136223846793005 + 1442695040888963407) % 2**64
    return r >> 33
y = [[900000, 0], [500000, 0]]
frames = []
for i in range(6000):
    for ch, c in enumerate((16150, 15900)):
        v = ((c * y[ch][0]) >> 13) - y[ch][1]
        y[ch][1] = y[ch][0]; y[ch][0] = v
        s = max(-2**23, min(2**23 - 1, v + rnd() % 9 - 4)) * 256 + rnd() % 256
        frames.append(struct.pack("<i", s))
data = b"".join(frames)
wav = (b"RIFF" + struct.pack("<I", 4 + 24 + 8 + len(data)) + b"WAVEfmt " +
       struct.pack("<IHHIIHH", 16, 1, 2, 48000, 48000 * 8, 8, 32) +
       b"data" + struct.pack("<I", len(data)) + data)
text = open("good-text.orig", "rb").read()
open("good-audio-v15.orig", "wb").write(text[:2000] + wav + text[2000:4000])
EOF
"$MBZIP" -1 -T1 -c good-audio-v15.orig >good-audio-v15.mbz
# frame version 16 (the audio model's revision 4): a WAV file alone whose header is
# the canonical 44 bytes (16-bit mono, 8 kHz, a falling tone): one audio block, the
# header written by the decoder from the block's parameters
python3 - <<'EOF'
import struct
r = 2027
def rnd():
    global r
    r = (r * 6364136223846793005 + 1442695040888963407) % 2**64
    return r >> 33
y = [3000, 0]
frames = []
for i in range(3000):
    v = ((16000 - i) * y[0] >> 13) - y[1]
    y[1] = y[0]; y[0] = v
    frames.append(struct.pack("<h", max(-32768, min(32767, v + rnd() % 5 - 2))))
data = b"".join(frames)
wav = (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " +
       struct.pack("<IHHIIHH", 16, 1, 1, 8000, 8000 * 2, 2, 16) +
       b"data" + struct.pack("<I", len(data)) + data)
open("good-audio-v16.orig", "wb").write(wav)
EOF
"$MBZIP" -1 -T1 -c good-audio-v16.orig >good-audio-v16.mbz
# the kept good files back, over the fresh ones (above)
for f in .kept/good-*; do
    [ -f "$f" ] && mv -f "$f" .
done
rmdir .kept
for f in good-text-mix good-text9 good-text9-cm good-text-cm good-text6-cm good-text6-v5 good-text6-v10; do
    [ -f $f.mbz ] && [ -f $f.orig ] ||
        { echo "$0: $f.mbz (made by an earlier mbzip or with an earlier default model) is missing: restore it from git" >&2; exit 1; }
done
[ -f good-concat.mbz ] ||
cat good-text.mbz good-empty.mbz good-rle.mbz good-text.mbz >good-concat.mbz
cat good-text.orig good-rle.orig good-text.orig >good-concat.orig
for f in good-*.mbz; do
    "$MBZIP" -dc "$f" | cmp -s - "${f%.mbz}.orig" || { echo "$0: $f does not round-trip" >&2; exit 1; }
done

# ---------------------------------------------------------------- bad files
python3 - <<'EOF'
import struct

M = 0xFFFFFFFFFFFFFFFF
P1, P2, P3, P4, P5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                      0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5)

def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M

def rnd(acc, inp):
    acc = (acc + inp * P2) & M
    return (rotl(acc, 31) * P1) & M

def merge(acc, val):
    acc ^= rnd(0, val)
    return (acc * P1 + P4) & M

def xxh64(data, seed=0):
    n, i = len(data), 0
    if n >= 32:
        v = [(seed + P1 + P2) & M, (seed + P2) & M, seed, (seed - P1) & M]
        while i + 32 <= n:
            for k in range(4):
                v[k] = rnd(v[k], struct.unpack_from("<Q", data, i + 8 * k)[0])
            i += 32
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & M
        for k in range(4):
            h = merge(h, v[k])
    else:
        h = (seed + P5) & M
    h = (h + n) & M
    while i + 8 <= n:
        h ^= rnd(0, struct.unpack_from("<Q", data, i)[0])
        h = (rotl(h, 27) * P1 + P4) & M
        i += 8
    if i + 4 <= n:
        h ^= (struct.unpack_from("<I", data, i)[0] * P1) & M
        h = (rotl(h, 23) * P2 + P3) & M
        i += 4
    while i < n:
        h ^= (data[i] * P5) & M
        h = (rotl(h, 11) * P1) & M
        i += 1
    h ^= h >> 33; h = (h * P2) & M
    h ^= h >> 29; h = (h * P3) & M
    h ^= h >> 32
    return h

assert xxh64(b"") == 0xEF46DB3751D8E999
assert xxh64(b"mbzip order-2 model v1") == 0x963F4DF9DA38C02D

FH, BH, EM = 20, 21, 21

def parse(b):
    """Offsets of the structures of a one-frame stream: (blocks, end)."""
    assert b[:4] == b"\x89MBZ"
    pos, blocks = FH, []
    while b[pos] != 0:
        payload = struct.unpack_from("<I", b, pos + 5)[0]
        blocks.append((pos, b[pos]))
        pos += BH + payload
    return blocks, pos

def fix_frame(b):
    b[16:20] = struct.pack("<I", xxh64(bytes(b[0:16])) & 0xFFFFFFFF)

def fix_at(b, off):     # block header or end mark at off
    b[off + 17:off + 21] = struct.pack("<I", xxh64(bytes(b[off:off + 17])) & 0xFFFFFFFF)

def load(name):
    return bytearray(open(name, "rb").read())

text = load("good-text.mbz")
multi = load("good-multiblock.mbz")
tblocks, tend = parse(text)
mblocks, mend = parse(multi)
assert tblocks[0][1] == 3, "good-text.mbz should start with a modelled block"
assert [t for _, t in mblocks] == [2, 3, 1], [t for _, t in mblocks]
tb = tblocks[0][0]      # the modelled block of good-text.mbz
out = {}

def make(name, b):
    out[name] = bytes(b)

b = text[:]; b[0] ^= 0x01; make("bad-magic.mbz", b)
b = text[:]; b[4] = 99; fix_frame(b); make("bad-version.mbz", b)
b = text[:]; b[5] = 0x01; fix_frame(b); make("bad-flags-v1.mbz", b)
b = text[:]; b[4] = 0; fix_frame(b); make("bad-version0.mbz", b)
b = text[:]; b[5] = 0x80; fix_frame(b); make("bad-flags.mbz", b)
mix = load("good-text-mix.mbz")
b = mix[:]; b[5] = 0x03; fix_frame(b); make("bad-flags-v2.mbz", b)
b = mix[:]; b[4] = 3; b[5] = 0x03; fix_frame(b); make("bad-strided-order2.mbz", b)
cm = load("good-text-cm.mbz")
cblocks, cend = parse(cm)
assert cm[4] == 4 and cm[5] == 0x04 and cblocks[0][1] == 4, "good-text-cm.mbz: a CM frame starting with a history-start block"
cb = cblocks[0][0]
b = cm[:]; b[5] = 0x05; fix_frame(b); make("bad-flags-both-mix.mbz", b)
b = cm[:]; b[cb] = 3; fix_at(b, cb); make("bad-cm-no-history.mbz", b)
b = text[:]; b[tb] = 4; fix_at(b, tb); make("bad-history-start-no-cm.mbz", b)
b = cm[:]; b[cb + BH + 100] ^= 0x04; make("bad-flip-cm-payload.mbz", b)
# one byte more in the binary payload than the encoder wrote (payload_size + 1)
plen = struct.unpack_from("<I", cm, cb + 5)[0]
b = cm[:cb + BH + plen] + b"\0" + cm[cb + BH + plen:]
b[cb + 5:cb + 9] = struct.pack("<I", plen + 1); fix_at(b, cb); make("bad-cm-payload-extra.mbz", b)
b = text[:]; b[6] = 0; fix_frame(b); make("bad-level.mbz", b)
b = text[:]; b[7] = 40; fix_frame(b); make("bad-blocklog.mbz", b)
b = text[:]; b[7] = 15; fix_frame(b); make("bad-blocklog-small.mbz", b)
make("bad-trunc-magic.mbz", text[:3])
make("bad-trunc-header.mbz", text[:12])
make("bad-trunc-blockheader.mbz", text[:FH + 10])
make("bad-trunc-payload.mbz", text[:tb + BH + 40])
make("bad-trunc-noend.mbz", text[:tend])
make("bad-trunc-endmark.mbz", text[:tend + 10])
make("bad-trunc-last-byte.mbz", text[:-1])
b = text[:]; b[9] ^= 0x10; make("bad-flip-frameheader.mbz", b)
b = text[:]; b[tb + 2] ^= 0x01; make("bad-flip-blockheader.mbz", b)
b = text[:]; b[tb + BH + 100] ^= 0x04; make("bad-flip-payload.mbz", b)
b = text[:]; b[tend + 3] ^= 0x01; make("bad-flip-endmark.mbz", b)
b = text[:]; b[tb + 9] ^= 0xFF; fix_at(b, tb); make("bad-content-checksum.mbz", b)
b = text[:]; b[tend + 9] ^= 0xFF; fix_at(b, tend); make("bad-total-checksum.mbz", b)
b = text[:]; b[tend + 1] ^= 0x01; fix_at(b, tend); make("bad-total-size.mbz", b)
b = text[:]; b[tend + 1:tend + 9] = struct.pack("<Q", M); fix_at(b, tend); make("bad-huge-total.mbz", b)
b = text[:]; b[8:16] = struct.pack("<Q", 0x0123456789ABCDEF); fix_frame(b); make("bad-unknown-model.mbz", b)
b = text[:]; b[tb + 1:tb + 5] = struct.pack("<I", 0xFFFFFFFF); fix_at(b, tb); make("bad-huge-blocksize.mbz", b)
b = text[:]; b[tb + 1:tb + 9] = struct.pack("<II", 0xFFFFFFFF, 0xFFFFFFFF); fix_at(b, tb); make("bad-huge-payload.mbz", b)
b = text[:]; b[tb + 5:tb + 9] = struct.pack("<I", struct.unpack_from("<I", b, tb + 1)[0] + 5); fix_at(b, tb)
make("bad-payload-too-long.mbz", b)
b = text[:]; b[tb + 1:tb + 5] = struct.pack("<I", 0); fix_at(b, tb); make("bad-zero-size.mbz", b)
b = text[:]; b[tb] = 9; fix_at(b, tb); make("bad-block-type.mbz", b)
b = text[:]; b[tb] = 1; fix_at(b, tb); make("bad-stored-size.mbz", b)
# run-length block (first block of good-multiblock) with a 2-byte payload
b = multi[:]; r = mblocks[0][0]; b[r + 5:r + 9] = struct.pack("<I", 2); fix_at(b, r)
make("bad-rle-payload.mbz", b)
# damage in the third block only (a stored block): flip a payload bit
b = multi[:]; s = mblocks[2][0]; b[s + BH + 7] ^= 0x20; make("bad-flip-stored.mbz", b)
# damage in the second block (modelled) of a multi-block stream
b = multi[:]; m = mblocks[1][0]; b[m + BH + 500] ^= 0x01; make("bad-flip-block2.mbz", b)
# audio blocks (good-audio.mbz: modelled, audio, modelled)
au = load("good-audio.mbz")
ablocks, aend = parse(au)
assert au[4] == 5 and au[5] == 0x0C and [t for _, t in ablocks] == [4, 5, 3], "good-audio.mbz: modelled, audio, modelled"
ab = ablocks[1][0]
b = au[:]; b[4] = 4; b[5] = 0x04; fix_frame(b); make("bad-audio-no-media.mbz", b)
b = au[:]; b[ab + BH + 1] = 0; make("bad-audio-channels.mbz", b)
b = au[:]; b[ab + BH] = 0x13; make("bad-audio-format.mbz", b)
b = au[:]; b[ab + BH + 2000] ^= 0x08; make("bad-flip-audio-payload.mbz", b)
# image blocks (good-image.mbz: modelled, image, modelled, image, modelled)
im = load("good-image.mbz")
iblocks, iend = parse(im)
assert [t for _, t in iblocks] == [4, 6, 3, 6, 3], "good-image.mbz: modelled, image, modelled, image, modelled"
ib = iblocks[1][0]
b = im[:]; b[ib + BH + 3:ib + BH + 7] = struct.pack("<I", 0); make("bad-image-width.mbz", b)
b = im[:]; b[ib + BH + 1000] ^= 0x10; make("bad-flip-image-payload.mbz", b)
# the record model (frame version 6, flag RECORD 0x10)
rec = load("good-record.mbz")
assert rec[4] == 6 and rec[5] == 0x1C, "good-record.mbz: version 6, flags CM, MEDIA and RECORD"
b = text[:]; b[4] = 6; b[5] = 0x10; fix_frame(b); make("bad-record-no-cm.mbz", b)
b = rec[:]; b[4] = 5; fix_frame(b); make("bad-record-v5.mbz", b)
# block filters (frame version 7, flag FILTER 0x20; good-x86.mbz: one modelled block
# whose payload starts with filter id 1, x86)
x8 = load("good-x86.mbz")
xblocks, xend = parse(x8)
assert x8[4] == 7 and x8[5] == 0x3C and [t for _, t in xblocks] == [4], "good-x86.mbz: version 7, one block"
xb = xblocks[0][0]
assert x8[xb + BH] == 1, "good-x86.mbz: the x86 filter"
b = x8[:]; b[xb + BH] = 7; make("bad-filter-unknown.mbz", b)
b = x8[:]; b[xb + BH] = 0; make("bad-filter-dropped.mbz", b)
b = text[:]; b[4] = 7; b[5] = 0x20; fix_frame(b); make("bad-filter-no-cm.mbz", b)
# the seek index (frame version 8, flag INDEX 0x40; good-index.mbz: three blocks, no
# annex): 27 bytes of entries, annex_size (4), the 28-byte foot (magic at 20..23)
ix = load("good-index.mbz")
iblk, iend = parse(ix)
assert ix[4] == 8 and ix[5] == 0x40 and len(ix) == iend + EM + 3 * 9 + 4 + 28, "good-index.mbz: version 8, flag INDEX, three blocks"
b = ix[:]; b[-8] ^= 0x01; make("bad-index-foot.mbz", b)
b = ix[:]; b[iend + EM + 27:iend + EM + 31] = struct.pack("<I", 0xFFFFFFFF); make("bad-index-annex.mbz", b)
make("bad-index-trunc.mbz", ix[:-3])
b = ix[:]; b[4] = 7; fix_frame(b); make("bad-index-v7.mbz", b)
# 1-bit images (frame version 10; good-bilevel.mbz: modelled, image, modelled,
# image, modelled; the image payloads' format byte 0x04)
bl = load("good-bilevel.mbz")
bblocks, bend = parse(bl)
assert bl[4] == 10 and [t for _, t in bblocks] == [4, 6, 3, 6, 3], "good-bilevel.mbz: version 10, modelled, image, modelled, image, modelled"
bb = bblocks[1][0]
assert bl[bb + BH] == 0x04 and bl[bb + BH + 1] == 1, "good-bilevel.mbz: 1-bit pixels, one channel"
b = bl[:]; b[4] = 9; fix_frame(b); make("bad-bilevel-v9.mbz", b)
b = bl[:]; b[bb + BH + 1] = 2; make("bad-bilevel-channels.mbz", b)
# the fast binary stage (frame version 11, flag FAST 0x80; good-fast-v11.mbz: flags
# CM, MEDIA, FILTER and FAST)
fa = load("good-fast-v11.mbz")
assert fa[4] == 11 and fa[5] == 0xAC, "good-fast-v11.mbz: version 11, flags CM, MEDIA, FILTER and FAST"
b = fa[:]; b[4] = 10; fix_frame(b); make("bad-fast-v10.mbz", b)
b = fa[:]; b[5] = 0xBC; fix_frame(b); make("bad-fast-record.mbz", b)
b = fa[:]; b[5] = 0x88; fix_frame(b); make("bad-fast-no-cm.mbz", b)
b = fa[:]; b[5] = 0x2C; fix_frame(b); make("bad-fast-dropped.mbz", b)
# the audio model's revision 2 (frame version 12; good-audio-v12.mbz: modelled,
# audio, modelled; the audio payload's format byte 0x81, a shift of 8)
a2 = load("good-audio-v12.mbz")
a2blocks, a2end = parse(a2)
assert a2[4] == 12 and [t for _, t in a2blocks] == [4, 5, 3], "good-audio-v12.mbz: version 12, modelled, audio, modelled"
a2b = a2blocks[1][0]
assert a2[a2b + BH] == 0x81, "good-audio-v12.mbz: 16-bit samples, a shift of 8"
b = a2[:]; b[4] = 11; fix_frame(b); make("bad-audio-shift-v11.mbz", b)
b = a2[:]; b[a2b + BH] = 0x41; make("bad-audio-shift-lost.mbz", b)
# the audio model's revision 3 (frame version 15; good-audio-v15.mbz: modelled,
# audio, modelled; the audio payload's format byte 0x03, 32-bit samples)
a3 = load("good-audio-v15.mbz")
a3blocks, a3end = parse(a3)
assert a3[4] == 15 and [t for _, t in a3blocks] == [4, 5, 3], "good-audio-v15.mbz: version 15, modelled, audio, modelled"
a3b = a3blocks[1][0]
assert a3[a3b + BH] == 0x03 and a3[a3b + BH + 2] == 0, "good-audio-v15.mbz: 32-bit samples, no shift"
b = a3[:]; b[4] = 14; fix_frame(b); make("bad-audio32-v14.mbz", b)
# the audio model's revision 4 (frame version 16; good-audio-v16.mbz: one audio
# block, the payload's format byte 0x11: 16-bit samples after a canonical WAV header)
a4 = load("good-audio-v16.mbz")
a4blocks, a4end = parse(a4)
assert a4[4] == 16 and [t for _, t in a4blocks] == [5], "good-audio-v16.mbz: version 16, one audio block"
a4b = a4blocks[0][0]
assert a4[a4b + BH] == 0x11 and a4[a4b + BH + 3:a4b + BH + 7] == bytes([0x40, 0x1f, 0, 0]), \
    "good-audio-v16.mbz: 16-bit samples after a WAV header, 8000 Hz"
b = a4[:]; b[4] = 15; fix_frame(b); make("bad-audio-wav-v15.mbz", b)
make("bad-empty.mbz", b"")
make("bad-trailing-garbage.mbz", text + b"garbage\n")
make("bad-trailing-zeros.mbz", text + b"\0" * 512)
make("bad-trailing-magic.mbz", text + b"\x89MBZ")
make("bad-second-frame.mbz", text + text[:FH + 30])
make("bad-not-mbz.mbz", b"This is plain text, not an mbzip stream.\n")
for name, data in out.items():
    open(name, "wb").write(data)
EOF

# ---------------------------------------------------------------- README
cat >README <<'EOF'
# tests/files: sample streams for the command-line tests

Made by `tools/make-test-files.sh` (mbzip itself, plus python3 byte surgery with
header checks recomputed where a deeper field is the target) and committed, so
the tests need neither python3 nor a particular mbzip to create them; running it
again keeps every good file that exists (each pins the format of its day) and
adds only new ones. Byte positions: doc/format.md (frame versions 1 to 12).

## Good files

`tests/cli/good-files.sh`: each `good-NAME.mbz` decodes (`mbzip -dc`, `-t`, `-d`)
to `good-NAME.orig`, and `-l` agrees with it.

| file | content |
|---|---|
| good-empty.mbz | empty content: a frame header and an end mark |
| good-text.mbz | corpora/grammar.lsp, level 1: one modelled block |
| good-text6.mbz | the same at level 6 (the default level's model at the time it was made) |
| good-text-mix.mbz | the same at level 1 with the 256-way mixing stage (frame version 2, flag MIX; doc/mixing.md); made before 2026-12-03, kept |
| good-text9.mbz | the same at level 9 with MEGABYTE model 7662c77d1c6d40c5 (frame version 3, flags MIX and STRIDED); made before 2026-12-03, kept |
| good-text-cm.mbz | the same at level 1 with the binary context-mixing stage (frame version 4, flag CM); made before 2026-12-04 (frames since have flag MEDIA too), kept |
| good-text9-cm.mbz | the same at level 9 with model 7662c77d1c6d40c5, the default until 2026-12-04 (frame version 4, flags CM and STRIDED); decoded through model/archive/ since the default changed; made before 2026-12-04, kept |
| good-text6-cm.mbz | the same at level 6 with model 355f8524606d011f, the default of 2026-12-04 (frame version 4, flag CM); decoded through model/archive/ since the default changed; made on 2026-12-04, kept |
| good-text6-v5.mbz | the same at level 6 with model 36ca1b19def4a03f, the default of 2026-12-04 to 2026-12-05, stage 2 (frame version 5, flags CM and MEDIA); decoded through model/archive/ since the default changed; made on 2026-12-04, kept |
| good-text6-v10.mbz | the same at level 6 with model a1d3426d36c27e9f, the default of 2026-12-05 to 2026-12-06, stage 3 (frame version 10, flags CM, MEDIA, RECORD and FILTER); decoded through model/archive/ since the default changed; made on 2026-12-05, kept |
| good-text6-v16.mbz | the same at level 6 with model 7f1d0cf31578a4bc, the default since 2026-12-06, stage 4 (frame version 16, flags CM, MEDIA, RECORD and FILTER); skipped by builds without the built-in default model |
| good-text3-fast.mbz | the same at level 3 with model 3c12d392bb87d8d5, the fast model of levels 2-4 since 2026-12-06, late (frame version 16, flags CM, MEDIA, RECORD and FILTER); skipped by builds without the built-in models |
| good-audio.mbz | level 1, frame version 5 (flags CM and MEDIA; made before the record model, kept): 3000 bytes of good-text.orig (modelled), a WAV file's samples, 16-bit stereo with a partial frame at the end (audio block, doc/format.md "Audio blocks"), then the WAV's pad byte and 3000 more bytes of text (modelled, continuing the history) |
| good-image.mbz | level 1, frame version 5 (flags CM and MEDIA; made before the record model, kept): 2000 bytes of good-text.orig and a PPM header (modelled), the PPM's pixels, 96 x 64 RGB (image block, doc/format.md "Image blocks"), a BMP header (modelled), its pixels, 41 x 40 24-bit with rows padded by one byte (image block), 1721 more bytes of text (modelled) |
| good-record.mbz | level 1, frame version 6 (flags CM, MEDIA and RECORD; made before block filters, kept): 1500 bytes of good-text.orig, 400 binary records of 20 bytes (a counter, a rising time, a small value, a code of four, a flag), 1500 more bytes of text: one modelled block whose record model (doc/mixing.md) finds the length |
| good-x86.mbz | level 1, frame version 7 (flags CM, MEDIA, RECORD and FILTER): 1000 bytes of good-text.orig, 24,000 bytes of synthetic x86 code (short instructions and near CALLs to 40 functions in it), 1000 more bytes of text: one modelled block coded through the x86 branch filter (filter id 1, doc/format.md "Filters") |
| good-index.mbz | good-multiblock.orig as good-multiblock.mbz, with a seek index (frame version 8, flag INDEX; doc/format.md "Seek index"): three entries, no annex |
| good-v9.mbz | level 1, frame version 9 (flags CM, MEDIA, RECORD and FILTER; the binary stage's revision 2, doc/mixing.md): good-text.orig, good-record.orig and good-x86.orig one after the other, one modelled block (the record model and the x86 filter at work in it) |
| good-bilevel.mbz | level 1, frame version 10 (flags CM, MEDIA, RECORD and FILTER; 1-bit images): 2000 bytes of good-text.orig and a PBM (P4) header (modelled), its pixels, 400 x 100 of synthetic text (image block with 1-bit pixels, doc/format.md "Image blocks"), a 1-bit BMP header with its palette (modelled), its pixels, 397 x 100, rows padded by 2 bytes, bottom-up (image block, 1-bit), 2000 more bytes of text (modelled) |
| good-image-v10.mbz | good-image.orig at level 1, frame version 10 (the image model's revision 2: the errors through the mixed coder): modelled, image, modelled, image, modelled |
| good-fast-v11.mbz | level 1, frame version 11 (flags CM, MEDIA, FILTER and FAST: the binary stage's fast configuration, doc/mixing.md): good-text.orig, 300 binary records of 18 bytes (a counter, a rising time, a small value, a code of three, a flag), good-text.orig again: one modelled block, the record model at work in it |
| good-audio-v12.mbz | level 1, frame version 12 (flags CM, MEDIA, FILTER and FAST; the audio model's revision 2): 2500 bytes of good-text.orig and a WAV header (modelled), its samples, 8-bit sound in 16-bit mono samples whose low byte is zero (audio block with a shift of 8, doc/format.md "Audio blocks"), 2500 more bytes of text (modelled) |
| good-image-v12.mbz | good-image.orig at level 1, frame version 12 (the image model's revision 3: least squares and the channels' gradients among the predictors, six contexts): modelled, image, modelled, image, modelled |
| good-image-v14.mbz | good-image.orig at level 1, frame version 14 (the image model's revision 4: the sign before the magnitude, the predictors' deviations as the error coder's contexts, a second weight set and two APMs): modelled, image, modelled, image, modelled |
| good-audio-v15.mbz | level 1, frame version 15 (the audio model's revision 3): 2000 bytes of good-text.orig and a WAV header (modelled), its samples, 32-bit stereo holding a 24-bit tone with noise in the low 8 bits (audio block: 3 parameter bytes, format 0x03, no shift; the low 8 bits split off, doc/format.md "Audio blocks"), 2000 more bytes of text (modelled) |
| good-audio-v16.mbz | level 1, frame version 16 (the audio model's revision 4): a WAV file alone, 16-bit mono at 8 kHz with the canonical 44-byte header, as one audio block (7 parameter bytes: format 0x11, the WAV header flag, 1 channel, no shift, the rate 8000; the decoder writes the header, doc/format.md "Audio blocks") |
| good-v13.mbz | good-v9.orig at level 2, frame version 13 (flags CM, MEDIA, RECORD and FILTER; the binary stage's revision 3, doc/mixing.md, over the default MEGABYTE model's tables): one modelled block |
| good-stored.mbz | 20000 random bytes: one stored block |
| good-rle.mbz | 100000 bytes `x`: one run-length block |
| good-multiblock.mbz | level 1, three blocks: run-length (one block of zeros), modelled (text), stored (3000 random bytes) |
| good-concat.mbz | good-text + good-empty + good-rle + good-text, concatenated |

## Bad files

`tests/cli/bad-files.sh`: `mbzip -t`, `mbzip -dc` and `mbzip -d -k` (on a copy)
each exit with status 1 (never a crash: status < 128), print exactly one line
starting with `mbzip: ` that contains one of the comma-separated MESSAGE words
(case-insensitive), and leave no output or temporary file.

| file | MESSAGE | how it was made |
|---|---|---|
EOF
cat >>README <<'EOF'
| bad-magic.mbz | magic | first byte 0x89 -> 0x88 |
| bad-version.mbz | version | version byte 1 -> 99, header check recomputed |
| bad-version0.mbz | version | version byte 1 -> 0, header check recomputed |
| bad-flags.mbz | flag,version | flags 0 -> 0x80, header check recomputed |
| bad-flags-v1.mbz | flag,version | flags 0 -> 0x01 (MIX) in a version-1 frame, header check recomputed |
| bad-flags-v2.mbz | flag,version | good-text-mix.mbz with flags 0x01 -> 0x03 (MIX + STRIDED) in a version-2 frame, header check recomputed |
| bad-strided-order2.mbz | strided | good-text-mix.mbz as version 3 with flags 0x03: strided inference asked of the order-2 model, which has no patches |
| bad-flags-both-mix.mbz | both | good-text-cm.mbz with flags 0x04 -> 0x05 (MIX + CM), header check recomputed |
| bad-cm-no-history.mbz | history | good-text-cm.mbz with its block type 4 (history start) -> 3 (continues a history), header check recomputed |
| bad-history-start-no-cm.mbz | type 4,CM | good-text.mbz (version 1) with its block type 3 -> 4, header check recomputed |
| bad-flip-cm-payload.mbz | checksum,corrupt,payload | good-text-cm.mbz with a bit flipped in the binary payload |
| bad-cm-payload-extra.mbz | corrupt,payload,length | good-text-cm.mbz with one zero byte appended to the binary payload (payload_size + 1, header check recomputed) |
| bad-level.mbz | level,corrupt,header | level -> 0, header check recomputed |
| bad-blocklog.mbz | block,corrupt,header | block_log -> 40 (a 1 TiB block), header check recomputed |
| bad-blocklog-small.mbz | block,corrupt,header | block_log -> 15, header check recomputed |
| bad-trunc-magic.mbz | truncat | the first 3 bytes |
| bad-trunc-header.mbz | truncat | the first 12 bytes (inside the frame header) |
| bad-trunc-blockheader.mbz | truncat | cut 10 bytes into the first block header |
| bad-trunc-payload.mbz | truncat | cut 40 bytes into the first payload |
| bad-trunc-noend.mbz | truncat | cut just before the end mark |
| bad-trunc-endmark.mbz | truncat | cut 10 bytes into the end mark |
| bad-trunc-last-byte.mbz | truncat | the last byte removed |
| bad-flip-frameheader.mbz | header,check,corrupt | a bit of the fingerprint flipped (header check not fixed) |
| bad-flip-blockheader.mbz | header,check,corrupt | a bit of content_size flipped (header check not fixed) |
| bad-flip-payload.mbz | checksum,corrupt,payload | a bit flipped in the modelled payload |
| bad-flip-endmark.mbz | header,check,corrupt | a bit of total_size flipped (header check not fixed) |
| bad-content-checksum.mbz | checksum | block checksum changed, header check recomputed |
| bad-total-checksum.mbz | checksum | end-mark content checksum changed, header check recomputed |
| bad-total-size.mbz | size,corrupt | end-mark total_size off by one, header check recomputed |
| bad-huge-total.mbz | size,corrupt,limit | end-mark total_size 2^64-1, header check recomputed |
| bad-unknown-model.mbz | 0123456789abcdef | fingerprint -> 0x0123456789abcdef, header check recomputed |
| bad-huge-blocksize.mbz | size,corrupt,limit | block content_size 2^32-1, header check recomputed |
| bad-huge-payload.mbz | size,corrupt,limit | block content_size and payload_size 2^32-1, header check recomputed |
| bad-payload-too-long.mbz | size,corrupt | modelled payload_size > content_size, header check recomputed |
| bad-zero-size.mbz | size,corrupt | block content_size 0, header check recomputed |
| bad-block-type.mbz | type,corrupt | block type 3 -> 9, header check recomputed |
| bad-stored-size.mbz | size,corrupt | modelled block relabelled stored (payload_size != content_size) |
| bad-rle-payload.mbz | size,corrupt | run-length block with payload_size 2, header check recomputed |
| bad-flip-stored.mbz | checksum | a bit flipped in a stored block (third block of good-multiblock) |
| bad-flip-block2.mbz | checksum,corrupt,payload | a bit flipped in the second block's (modelled) payload |
| bad-audio-no-media.mbz | type 5,MEDIA | good-audio.mbz as a version-4 frame without flag MEDIA, header check recomputed |
| bad-audio-channels.mbz | corrupt,audio | good-audio.mbz with the audio payload's channel count 2 -> 0 |
| bad-audio-format.mbz | corrupt,audio | good-audio.mbz with the audio payload's format byte 0x01 -> 0x13 (an undefined bit) |
| bad-flip-audio-payload.mbz | checksum,corrupt,audio | good-audio.mbz with a bit flipped in the audio payload |
| bad-image-width.mbz | corrupt,image | good-image.mbz with the first image payload's width 96 -> 0 |
| bad-record-no-cm.mbz | record,CM | good-text.mbz as a version-6 frame with flag RECORD (0x10) alone, header check recomputed |
| bad-record-v5.mbz | flag,version | good-record.mbz as a version-5 frame (flags 0x1c: RECORD is not a version-5 flag), header check recomputed |
| bad-filter-unknown.mbz | unknown filter | good-x86.mbz with its filter id 1 -> 7 |
| bad-filter-dropped.mbz | checksum | good-x86.mbz with its filter id 1 -> 0: decodes to the filtered bytes, which the block checksum refuses |
| bad-filter-no-cm.mbz | filter,CM | good-text.mbz as a version-7 frame with flag FILTER (0x20) alone, header check recomputed |
| bad-index-foot.mbz | seek index | good-index.mbz with a bit of the foot's magic flipped: the frame's end cannot be found (a damaged entry is only a warning: tests/cli/index.sh) |
| bad-index-annex.mbz | seek index,annex | good-index.mbz with annex_size 0xFFFFFFFF (over the 64 MiB limit) |
| bad-index-trunc.mbz | truncated | good-index.mbz without its last 3 bytes (inside the foot) |
| bad-index-v7.mbz | unsupported frame flags | good-index.mbz as a version-7 frame (flag INDEX 0x40 is version 8's), header check recomputed |
| bad-flip-image-payload.mbz | checksum,corrupt,image | good-image.mbz with a bit flipped in the first image payload |
| bad-bilevel-v9.mbz | corrupt,image | good-bilevel.mbz as a version-9 frame (1-bit pixels are version 10's), header check recomputed |
| bad-bilevel-channels.mbz | corrupt,image | good-bilevel.mbz with the first image payload's channel count 1 -> 2 (1-bit pixels have one) |
| bad-fast-v10.mbz | unsupported frame flags | good-fast-v11.mbz as a version-10 frame (flag FAST 0x80 is version 11's), header check recomputed |
| bad-fast-record.mbz | fast,record | good-fast-v11.mbz with flag RECORD (0x10) too: the fast stage has its own record model, a writer never sets both; header check recomputed |
| bad-fast-no-cm.mbz | fast,stage | good-fast-v11.mbz with flags MEDIA and FAST alone (0x88), header check recomputed |
| bad-fast-dropped.mbz | checksum,corrupt,payload | good-fast-v11.mbz without flag FAST (0x2c): its payload decoded by the full stage, found by the payload's end check or the block checksum |
| bad-audio-shift-v11.mbz | corrupt,audio | good-audio-v12.mbz as a version-11 frame (a shift in an audio payload is version 12's), header check recomputed |
| bad-audio-shift-lost.mbz | checksum,corrupt | good-audio-v12.mbz with the audio payload's format byte 0x81 -> 0x41 (a shift of 4 instead of 8): decodes to other samples, found by the block checksum |
| bad-audio32-v14.mbz | corrupt,audio | good-audio-v15.mbz as a version-14 frame (32-bit samples and the third parameter byte are version 15's), header check recomputed |
| bad-audio-wav-v15.mbz | corrupt,audio | good-audio-v16.mbz as a version-15 frame (the WAV header bit of the audio parameters is version 16's), header check recomputed |
| bad-empty.mbz | truncat,empty | an empty file |
| bad-trailing-garbage.mbz | garbage,magic | good-text.mbz + "garbage\n" |
| bad-trailing-zeros.mbz | garbage,magic | good-text.mbz + 512 zero bytes |
| bad-trailing-magic.mbz | truncat | good-text.mbz + the 4 magic bytes |
| bad-second-frame.mbz | truncat | good-text.mbz + the first 50 bytes of it |
| bad-not-mbz.mbz | magic | a line of plain text |
| bad-cpu-bomb.mbz | corrupt | 63 bytes: one modelled block declaring 2^26 bytes with a 1-byte payload; must fail within milliseconds (decoding work is bounded by the payload size), found by tests/reliability |
EOF
for f in bad-*.mbz; do
    grep -q "^| $f |" README || { echo "$0: $f is not described in README" >&2; exit 1; }
done
echo "made $(ls good-*.mbz | wc -l) good and $(ls bad-*.mbz | wc -l) bad files in $OUT"
