#!/bin/sh
# make check-long: media-stream.sh with a 2 GiB WAV through pipes under ulimit -v.
MEDIA_MB=${MEDIA_MB:-2047}
export MEDIA_MB
exec sh "${top_srcdir:-$(dirname "$0")/../..}/tests/archive/media-stream.sh"
