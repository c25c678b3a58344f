#!/bin/sh
# quickstart.sh - on a fresh Debian/Ubuntu machine: install the build
# dependencies, build mbzip in build/, compress a sample from corpora/,
# decompress it, check it, and compare its size with xz -9's.
#
#   sh tools/quickstart.sh [FILE]        (default FILE: corpora/alice29.txt)
#
# Uses sudo for apt-get only when not run as root.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
sample=${1:-$top/corpora/alice29.txt}
case $sample in /*) ;; *) sample=$(pwd)/$sample ;; esac

pkgs="build-essential autoconf automake libtool pkg-config libopenblas-dev
      libarchive-dev libxxhash-dev libcmocka-dev xz-utils zstd libarchive-tools"
if command -v apt-get >/dev/null 2>&1; then
    missing=
    for p in $pkgs; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        SUDO=
        [ "$(id -u)" -eq 0 ] || SUDO=sudo
        echo "== installing build dependencies:$missing"
        $SUDO apt-get update -qq
        # shellcheck disable=SC2086
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends $missing >/dev/null
    fi
fi

cd "$top"
echo "== building (build/)"
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
mkdir -p build
cd build
[ -f Makefile ] || ../configure -q
make -j"$(nproc 2>/dev/null || echo 2)" >/dev/null

name=$(basename "$sample")
echo "== mbzip $name"
./mbzip -c "$sample" >"$name.mbz"
./mbzip -dc "$name.mbz" >"$name.out"
cmp "$sample" "$name.out"
echo "round trip OK: $name.mbz decompresses to $name"
orig=$(wc -c <"$sample")
mbz=$(wc -c <"$name.mbz")
xz9=$(xz -9 -c "$sample" | wc -c)
printf '%-10s %10s %10s\n' "" bytes bits/byte
printf '%-10s %10d %10s\n' original "$orig" 8
printf '%-10s %10d %10.3f\n' "mbzip" "$mbz" "$(echo "$mbz $orig" | awk '{ print 8 * $1 / $2 }')"
printf '%-10s %10d %10.3f\n' "xz -9" "$xz9" "$(echo "$xz9 $orig" | awk '{ print 8 * $1 / $2 }')"
rm -f "$name.out"
echo "mbzip is in $top/build/mbzip (make install to install it; see README.md)"
