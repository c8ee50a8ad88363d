#!/usr/bin/env bash
# Distributed training with torchrun: one process per GPU.
#   bash tools/dist_train.sh CONFIG GPUS [tools/train.py options]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT (same on every node).
set -euo pipefail
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
HERE=$(cd "$(dirname "$0")" && pwd)

PYTHONPATH="$HERE/..${PYTHONPATH:+:$PYTHONPATH}" \
torchrun \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" \
    --nproc_per_node="$GPUS" \
    "$HERE/train.py" "$CONFIG" --launcher pytorch "${@:3}"
