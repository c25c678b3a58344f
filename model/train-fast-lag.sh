#!/bin/sh
# train-fast-lag.sh - train (or resume) the fast model's shape with a global lag of 2
# and the previous patch projected into the local input (mbtrain --global-lag 2
# --prev-patch; doc/model-format.md §1.2), on the fast model's data and schedule
# (model/train-fast.sh, whose settings all apply). State in model/scratch/fastlag.ckpt,
# log in model/scratch/fastlag-train.log, export in model/scratch/fastlag.mbzm.
#
# Why (issue 16, doc/speed.md "A lagged global model"): with a lag of 2 the global step
# of patch k + 1 reads only patches up to k - 1, so a decoder can run it on a second
# thread while it decodes patch k; a patch then costs max(global step, local model +
# mixing stage) instead of their sum. Priced on 2,500-step runs: +3.7% held-out bits
# per byte for the model alone, against 11% for the lag without the projection.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
NAME=fastlag
ARCH_EXTRA="--global-lag 2 --prev-patch"
export NAME ARCH_EXTRA
exec "$here/train-fast.sh"
