#!/bin/sh
# make check-long: stream.sh with 3 GiB (STREAM_MB) through pipes under ulimit -v.
STREAM_MB=${STREAM_MB:-3072}
export STREAM_MB
exec sh "${top_srcdir:-$(dirname "$0")/../..}/tests/archive/stream.sh"
