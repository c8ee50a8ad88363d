#!/usr/bin/env bash
# GPU smoke test of mmvit: one script, under 9 minutes on one GPU, generated
# data only (nothing is downloaded).
#
#   bash tools/gpu_smoke_test.sh LOG_DIR [--dry-run]
#
# Steps (each logs to LOG_DIR/<step>.log; LOG_DIR/summary.txt has one
# PASS / FAIL / SKIP line per step; a failing step does not stop the rest;
# the exit status is 1 if any step failed):
#   0       write the smoke configs (LOG_DIR/configs), generate the data
#   1       device probe: nvidia-smi, torch / CUDA, mmcv's CUDA NMS
#   2a-2c   SSDLite-XXS on shapes, 1 epoch: fp32, --amp (fp16), bf16;
#           CUDA NMS and CocoMetric in the val at the end
#   3       tools/test.py of the fp32 checkpoint, fp32 and test_cfg.fp16:
#           bbox mAP equal to 3 decimals
#   4a-4b   MobileViT-XXS classification with the variable-batch sampler,
#           torchrun DDP (1 process), SyncBN, EMA; then --resume
#   5a-5c   DeepLabv3-XXS on shapes: fp32, --amp, DDP (1 process) + SyncBN
#   6a-6b   fused SDPA kernels per MobileViT head (fp16 / bf16); peak memory
#           of a DeepLabv3-S 512x512 batch-8 train step, fp32 vs AMP
#   7       switch_to_deploy (BN folding) parity on CUDA, trained models
#   8       ONNX export of the trained checkpoints with --verify
#
# --dry-run (CPU, under 2 minutes): prints every command instead of running
# it and checks it statically (tools exist, configs load with the command's
# --cfg-options, models build), runs the CPU-capable parts of
# tools/gpu_smoke_checks.py on the CPU, and marks the GPU steps
# "SKIP (no GPU: dry run)".
#
# Environment: PYTHON (default: python; torchrun is taken from beside it),
# PORT (torchrun's port; default random), SMOKE_BUDGET_S (default 510: no
# command runs past it, steps not started by then FAIL as not run),
# SMOKE_CMD_TIMEOUT_S (the most one command may take, default 240).
set -uo pipefail

usage() {
    sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 2
}
[[ $# -ge 1 && $# -le 2 && $1 != -* ]] || usage
DRY_RUN=0
if [[ $# -eq 2 ]]; then
    [[ $2 == --dry-run ]] || usage
    DRY_RUN=1
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1" && LOG_DIR=$(cd "$1" && pwd)
cd "$ROOT" || exit 2
PY=${PYTHON:-python}
PY_BIN=$(command -v "$PY") || { echo "no python interpreter: $PY" >&2; exit 2; }
export PATH="$(dirname "$PY_BIN"):$PATH"  # torchrun beside the interpreter
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PORT=${PORT:-$((29500 + RANDOM % 2000))}
BUDGET=${SMOKE_BUDGET_S:-510}
CMD_TIMEOUT=${SMOKE_CMD_TIMEOUT_S:-240}

CHECKS="tools/gpu_smoke_checks.py"
CFG=$LOG_DIR/configs
WORK=$LOG_DIR/work
DATA=$LOG_DIR/data
DET=$CFG/ssdlite_mobilevit_xxs_shapes_smoke.py
SEG=$CFG/deeplabv3_mobilevit_xxs_shapes_smoke.py
CLS=$CFG/mobilevit-xxsmall_shapes_smoke.py
DET_CKPT=$WORK/det_fp32/epoch_1.pth
SEG_CKPT=$WORK/seg_fp32/epoch_1.pth
SYNCBN_SEG=(model.backbone.norm_cfg.type=SyncBN
            model.decode_head.norm_cfg.type=SyncBN)
rm -f "$LOG_DIR/summary.txt" "$LOG_DIR/commands.tsv" "$LOG_DIR/checks.tsv"

# ------------------------------------------------------------ step machinery
STEPS=()
declare -A STATUS NOTE
STEP= STEP_LOG= STEP_FAILED=0 STEP_SKIP=
say() { echo "$*" | tee -a "$STEP_LOG"; }

run() { _run 0 "$@"; }      # run CMD...: print it, run it (dry run: record it)
run_now() { _run 1 "$@"; }  # the same, but it runs in a dry run too

_run() {  # _run IN_DRY_RUN CMD...: output into the step log, exit noted
    local in_dry_run=$1 line left rc
    shift
    printf -v line '%q ' "$@"
    line=${line% }
    say "+ $line"
    if ((DRY_RUN)); then
        printf '%s\t%s\n' "$STEP" "$line" >>"$LOG_DIR/commands.tsv"
        ((in_dry_run)) || return 0
    fi
    left=$((BUDGET - SECONDS))  # the budget holds for the whole run
    ((left > CMD_TIMEOUT)) && left=$CMD_TIMEOUT
    ((left < 10)) && left=10
    timeout --kill-after=15 "$left" "$@" >>"$STEP_LOG" 2>&1
    rc=$?
    if ((rc != 0)); then
        ((rc == 124 || rc == 137)) && say "  timed out after ${left} s"
        say "  exit $rc"
        STEP_FAILED=1
    fi
    return $rc
}

check() {  # check SUBCOMMAND ARGS...: a tools/gpu_smoke_checks.py command;
    # in a dry run those with a CPU mode run with --dry-run
    run "$PY" "$CHECKS" "$@"
    if ((DRY_RUN)) && [[ " probe sdpa memory deploy-parity " == *" $1 "* ]]; then
        say "  dry run: on the CPU (--dry-run)"
        "$PY" "$CHECKS" "$@" --dry-run >>"$STEP_LOG" 2>&1 || {
            say "  exit $? (CPU mode)"
            STEP_FAILED=1
        }
    fi
}

need() {  # need FILE...: skip the rest of the step unless earlier steps made them
    ((DRY_RUN)) && return 0
    local f
    for f in "$@"; do
        if [[ ! -e $f ]]; then
            STEP_SKIP="needs $f from an earlier step"
            say "  skipped: $STEP_SKIP"
            return 1
        fi
    done
}

step() {  # step NAME GPU_ONLY(0|1) FUNCTION: run one step, record its status
    local name=$1 gpu_only=$2 fn=$3 start=$SECONDS
    STEP=$name STEP_LOG=$LOG_DIR/$name.log STEP_FAILED=0 STEP_SKIP=
    : >"$STEP_LOG"
    STEPS+=("$name")
    echo "=== $name"
    if ((!DRY_RUN && SECONDS > BUDGET)); then
        STATUS[$name]="FAIL (not run: the ${BUDGET} s budget was spent)"
        return
    fi
    "$fn"
    local took=$((SECONDS - start)) notes
    notes=$(sed -n 's/^smoke: //p' "$STEP_LOG" | awk '{printf "%s%s", (NR > 1 ? "; " : ""), $0}')
    NOTE[$name]=$notes
    if ((STEP_FAILED)); then
        STATUS[$name]="FAIL (${took} s; see $name.log)"
    elif [[ -n $STEP_SKIP ]]; then
        STATUS[$name]="SKIP ($STEP_SKIP)"
    elif ((DRY_RUN && gpu_only)); then
        STATUS[$name]="SKIP (no GPU: dry run)"
    else
        STATUS[$name]="PASS (${took} s)"
    fi
    echo "    ${STATUS[$name]}"
}

# ------------------------------------------------------------------- steps
s0_data() {
    # the configs are written in a dry run too: the command check loads them
    run_now "$PY" "$CHECKS" write-configs "$CFG" --data-root "$DATA" \
        --num-train 64 --num-val 16 --num-train-cls 512 --num-val-cls 32
    run "$PY" tools/dataset_converters/generate_shapes.py "$DATA/shapes_gpu" \
        --num-train 64 --num-val 16
    run "$PY" tools/dataset_converters/generate_shapes.py \
        "$DATA/shapes_gpu_cls" --classification --num-train 512 --num-val 32
}

s1_probe() {
    run nvidia-smi
    check probe
}

det_train() {  # det_train WORK_NAME [train.py options]
    local dir=$WORK/$1
    shift
    run "$PY" tools/train.py "$DET" --work-dir "$dir" "$@" &&
        check metric "$dir" coco/bbox_mAP
}
s2a_det_fp32() { det_train det_fp32; }
s2b_det_amp() { det_train det_amp --amp; }
s2c_det_bf16() {
    det_train det_bf16 --amp --cfg-options optim_wrapper.dtype=bfloat16
}

s3_det_test_fp16() {
    need "$DET_CKPT" || return
    run "$PY" tools/test.py "$DET" "$DET_CKPT" --work-dir "$WORK/det_test_fp32"
    run "$PY" tools/test.py "$DET" "$DET_CKPT" \
        --work-dir "$WORK/det_test_fp16" --cfg-options test_cfg.fp16=True
    check compare-metrics "$WORK/det_test_fp32" "$WORK/det_test_fp16" \
        coco/bbox_mAP --decimals 3 --names fp32 fp16
}

s4a_cls_ddp() {
    run bash tools/dist_train.sh "$CLS" 1 --work-dir "$WORK/cls_ddp" \
        --cfg-options model.backbone.norm_cfg.type=SyncBN \
        train_cfg.max_epochs=1 &&
        check metric "$WORK/cls_ddp" accuracy/top1
}
s4b_cls_resume() {
    need "$WORK/cls_ddp/epoch_1.pth" || return
    run bash tools/dist_train.sh "$CLS" 1 --work-dir "$WORK/cls_ddp" \
        --resume --cfg-options model.backbone.norm_cfg.type=SyncBN &&
        check resume-check "$WORK/cls_ddp"
}

s5a_seg_fp32() {
    run "$PY" tools/train.py "$SEG" --work-dir "$WORK/seg_fp32" &&
        check metric "$WORK/seg_fp32" mIoU
}
s5b_seg_amp() {
    run "$PY" tools/train.py "$SEG" --work-dir "$WORK/seg_amp" --amp &&
        check metric "$WORK/seg_amp" mIoU
}
s5c_seg_ddp() {
    run bash tools/dist_train.sh "$SEG" 1 --work-dir "$WORK/seg_ddp" \
        --cfg-options "${SYNCBN_SEG[@]}" &&
        check metric "$WORK/seg_ddp" mIoU
}

s6a_sdpa() { check sdpa --out "$LOG_DIR/sdpa.json"; }
s6b_memory() { check memory; }

s7_deploy_parity() {
    need "$DET_CKPT" || return
    check deploy-parity "$DET" "$DET_CKPT"
    # the segmentor too (not in a dry run: the detector shows the code works)
    ((DRY_RUN)) && return
    if [[ -e $SEG_CKPT ]]; then
        check deploy-parity "$SEG" "$SEG_CKPT"
    else
        say "  no $SEG_CKPT: segmentor not checked"
    fi
}

s8_onnx() {
    need "$DET_CKPT" "$SEG_CKPT" || return
    check onnx -- "$DET" "$DET_CKPT" --out "$LOG_DIR/onnx/ssdlite.onnx" \
        --shape 256 256 --verify
    check onnx -- "$SEG" "$SEG_CKPT" --out "$LOG_DIR/onnx/deeplabv3.onnx" \
        --shape 256 256 --verify
}

# ---------------------------------------------------------------------- run
echo "GPU smoke test$( ((DRY_RUN)) && echo ' (dry run)'): logs in $LOG_DIR"
step 0-data 0 s0_data
step 1-probe 1 s1_probe
step 2a-det-fp32 1 s2a_det_fp32
step 2b-det-amp-fp16 1 s2b_det_amp
step 2c-det-amp-bf16 1 s2c_det_bf16
step 3-det-test-fp16 1 s3_det_test_fp16
step 4a-cls-ddp-syncbn-ema 1 s4a_cls_ddp
step 4b-cls-ddp-resume 1 s4b_cls_resume
step 5a-seg-fp32 1 s5a_seg_fp32
step 5b-seg-amp 1 s5b_seg_amp
step 5c-seg-ddp-syncbn 1 s5c_seg_ddp
step 6a-sdpa-kernels 1 s6a_sdpa
step 6b-memory-fp32-vs-amp 1 s6b_memory
step 7-deploy-parity 0 s7_deploy_parity
step 8-onnx-export 1 s8_onnx

if ((DRY_RUN)); then
    # every recorded command, checked in one process; a step with a problem
    # fails (its log gets the details)
    STEP=checks STEP_LOG=$LOG_DIR/dry-run-checks.log
    : >"$STEP_LOG"
    echo "=== static check of the commands (dry-run-checks.log)"
    "$PY" "$CHECKS" check-commands "$LOG_DIR/commands.tsv" \
        --results "$LOG_DIR/checks.tsv" >>"$STEP_LOG" 2>&1
    rc=$?
    sed -n 's/^smoke: /    /p' "$STEP_LOG"
    if [[ ! -s $LOG_DIR/checks.tsv ]]; then
        echo "    the check itself failed (exit $rc): see dry-run-checks.log"
        for name in "${STEPS[@]}"; do
            STATUS[$name]="FAIL (command check did not run)"
        done
    fi
    while IFS=$'\t' read -r name verdict problem; do
        if [[ $verdict != OK ]]; then
            STATUS[$name]="FAIL (command check: $problem)"
        elif [[ ${STATUS[$name]} != FAIL* ]]; then
            NOTE[$name]="commands checked${NOTE[$name]:+; ${NOTE[$name]}}"
        fi
    done <"$LOG_DIR/checks.tsv"
fi

failed=0
for name in "${STEPS[@]}"; do
    line=$(printf '%-26s %s' "$name" "${STATUS[$name]}")
    [[ -n ${NOTE[$name]:-} ]] && line+=" -- ${NOTE[$name]}"
    echo "$line" >>"$LOG_DIR/summary.txt"
    [[ ${STATUS[$name]} == FAIL* ]] && failed=$((failed + 1))
done
echo
cat "$LOG_DIR/summary.txt"
echo "$failed of ${#STEPS[@]} steps failed; ${SECONDS} s in all; logs in $LOG_DIR"
((failed == 0))
