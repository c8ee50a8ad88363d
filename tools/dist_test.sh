#!/usr/bin/env bash
# Distributed testing with torchrun: one process per GPU.
#   bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [tools/test.py options]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT (same on every node).
set -euo pipefail
if [[ $# -lt 3 ]]; then
    echo 'usage: bash tools/dist_test.sh CONFIG CHECKPOINT GPUS' \
        '[tools/test.py options]' >&2
    exit 2
fi
exec bash "$(dirname "$0")/dist_launch.sh" test.py "$3" \
    "$1" "$2" --launcher pytorch "${@:4}"
