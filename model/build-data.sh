#!/bin/sh
# build-data.sh - assemble the training set of mbzip's default model into model/data/
# (gitignored), reproducibly. See model/MODEL.md.
#
#   model/build-data.sh [SHARED_TRAIN_DIR]
#
# Categories (each one DATA argument of mbtrain, so each has its own held-out tail):
#   model/data/{prose,wiki,structured,media}  symlinks to the tar.xz archives of
#       ../shared/corpora/train/<category>/ (mbtrain reads them directly);
#   model/data/debian/{c,perl,python,man,scripts,doc,etc}  text files copied from this
#       Debian system, each category capped (a fixed pseudo-random selection of whole
#       files, so that no one kind of text dominates).
# Debian packages the Debian categories come from (install them first):
#   apt-get install -y libc6-dev linux-libc-dev manpages manpages-dev perl \
#       perl-modules-5.36 python3 python3.11 libpython3.11-stdlib
# The benchmark corpora are never used; every file is checked by
# `mbtrain --check-data`, and Debian files that overlap a benchmark file (e.g. a
# licence text that also occurs inside Silesia's samba tar) are dropped here.
set -eu
LC_ALL=C
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
shared=${1:-$top/../shared/corpora/train}
out=$here/data
MBTRAIN=${MBTRAIN:-}
if [ -z "$MBTRAIN" ]; then
  for c in "$top/../build-train/mbtrain" "$top/../build/mbtrain" "$top/mbtrain"; do
    if [ -x "$c" ]; then MBTRAIN=$c; break; fi
  done
fi
[ -n "$MBTRAIN" ] || { echo "build-data.sh: set MBTRAIN to the mbtrain binary" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/debian"

# 1. The shared training archives, read in place.
for cat in prose wiki structured media; do
  mkdir -p "$out/$cat"
  for a in "$shared/$cat"/*.tar.xz; do
    ln -s "$(cd "$(dirname "$a")" && pwd)/$(basename "$a")" "$out/$cat/$(basename "$a")"
  done
done

# 2. Debian text. select CAP_BYTES: read paths on stdin, keep text files (grep -I),
# shuffle them in a fixed order (sort -R with a constant random source) and keep whole
# files until CAP_BYTES; print the kept paths sorted.
select_files() {
  cap=$1
  while IFS= read -r f; do
    [ -f "$f" ] && [ -r "$f" ] || continue
    case "$f" in *key*|*shadow*|*private*|*secret*|*passwd*|*.pem) continue ;; esac
    grep -Iq . "$f" 2>/dev/null || continue
    printf '%s %s\n' "$(wc -c < "$f")" "$f"
  done | sort -k2 | sort -R --random-source=/dev/zero -k2 |
    awk -v cap="$cap" '{ if (tot + $1 <= cap) { tot += $1; sub(/^[0-9]+ /, ""); print } }' | sort
}

copy_list() { # DEST: copy the paths on stdin under DEST, keeping their full path
  dest=$1
  mkdir -p "$dest"
  while IFS= read -r f; do
    mkdir -p "$dest$(dirname "$f")"
    cp "$f" "$dest$f"
  done
}

MB=1048576
find /usr/include -type f -name '*.h' | select_files $((40 * MB)) | copy_list "$out/debian/c"
find /usr/share/perl /usr/share/perl5 -type f \( -name '*.pm' -o -name '*.pl' -o -name '*.pod' \) 2>/dev/null |
  select_files $((15 * MB)) | copy_list "$out/debian/perl"
find /usr/lib/python3* -type f -name '*.py' 2>/dev/null | select_files $((40 * MB)) | copy_list "$out/debian/python"
find /usr/bin -type f | select_files $((5 * MB)) | copy_list "$out/debian/scripts"
find /etc -type f -perm -o=r 2>/dev/null | select_files $((4 * MB)) | copy_list "$out/debian/etc"
find /usr/share/doc -type f ! -name '*.gz' 2>/dev/null | select_files $((20 * MB)) | copy_list "$out/debian/doc"

# man pages: gunzip first (English sections only, the translations are few and uneven)
tmpman=$(mktemp -d)
trap 'rm -rf "$tmpman"' EXIT
find /usr/share/man/man[1-9] -type f -name '*.gz' | sort | while IFS= read -r f; do
  d="$tmpman$(dirname "$f")"
  mkdir -p "$d"
  gzip -dc "$f" > "$d/$(basename "$f" .gz)" 2>/dev/null || rm -f "$d/$(basename "$f" .gz)"
done
(cd "$tmpman" && find . -type f | sed 's#^\.##') | while IFS= read -r f; do printf '%s\n' "$tmpman$f"; done |
  select_files $((30 * MB)) | sed "s#^$tmpman##" | (cd "$tmpman" && while IFS= read -r f; do
    mkdir -p "$out/debian/man$(dirname "$f")"; cp "$tmpman$f" "$out/debian/man$f"; done)

# 3. Overlap with the benchmark corpora (mbtrain --check-data): Debian files that
# overlap are deleted here; members of the shared archives that overlap (a few
# Gutenberg books sharing the old Project Gutenberg licence text with Silesia's
# dickens) cannot be deleted, so training runs with --drop-overlap, which leaves them
# out. Both lists end up in data/refused.txt.
cats="$out/prose $out/wiki $out/structured $out/media"
for c in c perl python man scripts doc etc; do cats="$cats $out/debian/$c"; done
log=$out/check.log
# shellcheck disable=SC2086
"$MBTRAIN" --check-data $cats > "$log" 2>&1 || true
sed -n 's/^mbtrain: refusing training file \(.*\): \(identical\|bytes\).*/\1/p' "$log" > "$out/refused.txt"
grep -v '\.tar\.xz:' "$out/refused.txt" | while IFS= read -r f; do rm -f "$f"; done
echo "build-data.sh: $(grep -vc '\.tar\.xz:' "$out/refused.txt") Debian files deleted, $(grep -c '\.tar\.xz:' "$out/refused.txt") archive members left out by --drop-overlap (see $out/refused.txt)"
# shellcheck disable=SC2086
"$MBTRAIN" --check-data --drop-overlap $cats > "$log" 2>&1 || { cat "$log" >&2; exit 1; }
tail -n 20 "$log"
echo "$cats" | tr ' ' '\n' > "$out/categories.txt"
echo "build-data.sh: done; categories in $out/categories.txt"
