#!/usr/bin/env bash
# What tools/dist_train.sh and tools/dist_test.sh run: a script of tools/
# under torchrun, one process per GPU, ARGS passed on as they are.
#   bash tools/dist_launch.sh SCRIPT GPUS [ARGS...]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT (same on every node).
set -euo pipefail
SCRIPT=${1:?usage: bash tools/dist_launch.sh SCRIPT GPUS [ARGS...]}
GPUS=${2:?usage: bash tools/dist_launch.sh SCRIPT GPUS [ARGS...]}
HERE=$(cd "$(dirname "$0")" && pwd)

PYTHONPATH="$HERE/..${PYTHONPATH:+:$PYTHONPATH}" \
torchrun \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-29500}" \
    --nproc_per_node="$GPUS" \
    "$HERE/$SCRIPT" "${@:3}"
