#!/bin/sh
# explain-screenshot.sh - render an `mbzip --explain` page (or any local HTML file)
# in headless Chromium.
#
#   tools/explain-screenshot.sh [-w WIDTH] [-h HEIGHT] IN.html OUT.png
#       screenshot of the top WIDTHxHEIGHT CSS pixels (default 1200x1600), scale 1
#       (the top only: a URL#fragment gives a blank shot in headless Chromium 156)
#   tools/explain-screenshot.sh --dom IN.html OUT.html
#       the DOM as Chromium parsed it (--dump-dom), for checks on the parsed page
#
# Browser: $CHROMIUM, else the first of chromium, chromium-browser, google-chrome
# on PATH (Debian: apt-get install chromium). Exit status: 0 done, 1 failed,
# 2 usage, 77 no browser found (the test suite's "skipped").
# A throw-away profile directory is used, so nothing is written under $HOME.
set -u

usage() {
    echo "usage: $0 [-w WIDTH] [-h HEIGHT] IN.html OUT.png | $0 --dom IN.html OUT.html" >&2
    exit 2
}

width=1200
height=1600
mode=png
while [ $# -gt 0 ]; do
    case $1 in
        -w) [ $# -ge 2 ] || usage; width=$2; shift 2 ;;
        -h) [ $# -ge 2 ] || usage; height=$2; shift 2 ;;
        --dom) mode=dom; shift ;;
        --) shift; break ;;
        -*) usage ;;
        *) break ;;
    esac
done
[ $# -eq 2 ] || usage
case $width$height in *[!0-9]*) usage ;; esac
in=$1
out=$2
[ -r "$in" ] || { echo "$0: cannot read $in" >&2; exit 1; }

browser=${CHROMIUM:-}
if [ -z "$browser" ]; then
    for b in chromium chromium-browser google-chrome; do
        if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
    done
fi
if [ -z "$browser" ] || ! command -v "$browser" >/dev/null 2>&1; then
    echo "$0: no headless browser (install chromium, or set CHROMIUM)" >&2
    exit 77
fi

# absolute paths: Chromium resolves a relative --screenshot against its own cwd
case $in in /*) ;; *) in=$(pwd)/$in ;; esac
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
# as a file: URL, with the characters a URL path cannot hold as such percent-encoded
url=file://$(printf '%s' "$in" | sed -e 's/%/%25/g' -e 's/ /%20/g' -e 's/#/%23/g' -e 's/?/%3F/g')

profile=$(mktemp -d "${TMPDIR:-/tmp}/explain-chromium.XXXXXX") || exit 1
log=$profile.log
trap 'rm -rf "$profile" "$log"' EXIT HUP INT TERM

to=
command -v timeout >/dev/null 2>&1 && to="timeout 60"

rm -f "$out"
set -- --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --no-default-browser-check --disable-extensions --disable-background-networking \
    --user-data-dir="$profile" --hide-scrollbars --force-device-scale-factor=1
if [ "$mode" = dom ]; then
    HOME=$profile $to "$browser" "$@" --dump-dom "$url" >"$out" 2>"$log"
else
    HOME=$profile $to "$browser" "$@" --window-size="$width,$height" \
        --screenshot="$out" "$url" >"$log" 2>&1
fi
rc=$?
if [ "$rc" -ne 0 ] || [ ! -s "$out" ]; then
    echo "$0: $browser failed (exit status $rc); its last messages:" >&2
    tail -n 15 "$log" >&2
    exit 1
fi
exit 0
