#!/bin/sh
# compare-models.sh - sizes (and, with -t, decoding times) of mbzip at one level with
# several MEGABYTE models, next to xz -9e and zstd -19, as a markdown table: the
# measurement behind a choice of which model a level runs (model/MODEL.md, the fast
# model's table; the lagged fast model's next).
#
#   model/compare-models.sh [-l LEVEL] [-t] [-b MBZIP] -m NAME=MODEL [-m NAME=MODEL]...
#                           FILE...
#
# -l LEVEL  the level (default 6); -m NAME=MODEL a model file for mbzip --model, or
# NAME= for the built-in choice of the level; -t also time `mbzip -d` (wall clock,
# default threads, one run) and print KB/s; -b the mbzip binary (default: mbzip on
# PATH). Every file is decompressed again and compared with its input. The last
# columns give each model's size against the first model's. Choose on held-out
# training data and Debian files; benchmark files (corpora/, ../shared/corpora) may
# be reported, never chosen on.
set -eu
LEVEL=6
TIME=0
MBZIP=mbzip
names=
models=
while getopts l:tb:m: o; do
  case $o in
  l) LEVEL=$OPTARG ;;
  t) TIME=1 ;;
  b) MBZIP=$OPTARG ;;
  m) names="$names ${OPTARG%%=*}"; models="$models${OPTARG#*=}:" ;;
  *) sed -n '2,16p' "$0" >&2; exit 1 ;;
  esac
done
shift $((OPTIND - 1))
[ -n "$names" ] && [ $# -gt 0 ] || { sed -n '2,16p' "$0" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/compare-models.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

now() { date +%s.%N; }

head="| file | size |"
rule="| --- | ---: |"
for n in $names; do head="$head -$LEVEL $n |"; rule="$rule ---: |"; done
for n in $names; do
  [ "$TIME" = 1 ] && { head="$head $n -d KB/s |"; rule="$rule ---: |"; }
done
first=1
for n in $names; do
  [ $first = 1 ] && { first=0; continue; }
  head="$head $n / first |"; rule="$rule ---: |"
done
echo "$head xz -9e | zstd -19 |"
echo "$rule ---: | ---: |"
for f in "$@"; do
  size=$(wc -c < "$f")
  row="| $(basename "$f") | $size |"
  sizes=
  speeds=
  rest=$models
  for n in $names; do
    m=${rest%%:*}
    rest=${rest#*:}
    opt=
    [ -n "$m" ] && opt="--model=$m"
    # shellcheck disable=SC2086
    "$MBZIP" -"$LEVEL" $opt -c "$f" > "$tmp/c"
    t0=$(now)
    # shellcheck disable=SC2086
    "$MBZIP" -d $opt -c "$tmp/c" > "$tmp/d"
    t1=$(now)
    cmp -s "$f" "$tmp/d" || { echo "compare-models.sh: $f with $n does not round-trip" >&2; exit 1; }
    c=$(wc -c < "$tmp/c")
    sizes="$sizes $c"
    row="$row $c |"
    speeds="$speeds $(awk -v s="$size" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", s / 1000 / (b - a) }')"
  done
  if [ "$TIME" = 1 ]; then
    for s in $speeds; do row="$row $s |"; done
  fi
  base=
  for c in $sizes; do
    if [ -z "$base" ]; then base=$c; continue; fi
    row="$row $(awk -v a="$c" -v b="$base" 'BEGIN { printf "%.3f", a / b }') |"
  done
  row="$row $(xz -9e -T1 -c "$f" | wc -c) | $(zstd -19 -q -c "$f" | wc -c) |"
  echo "$row"
done
