#!/usr/bin/env bash
# Distributed training with torchrun: one process per GPU.
#   bash tools/dist_train.sh CONFIG GPUS [tools/train.py options]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT (same on every node).
set -euo pipefail
if [[ $# -lt 2 ]]; then
    echo 'usage: bash tools/dist_train.sh CONFIG GPUS [tools/train.py options]' >&2
    exit 2
fi
exec bash "$(dirname "$0")/dist_launch.sh" train.py "$2" \
    "$1" --launcher pytorch "${@:3}"
