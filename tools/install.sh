#!/usr/bin/env bash
# One-command install of mmvit and the OpenMMLab stack it plugs into (CPU build).
#
#   bash tools/install.sh          # creates ./.venv and installs everything into it
#
# Idempotent: a second run on a ready machine only checks the environment (seconds).
# The slow step is building mmcv 2.1.0 with its compiled ops from source (15-35 min on
# 2 cores); the wheel is kept in $MMVIT_WHEELHOUSE (keyed by the torch ABI), so every
# later venv, on this machine, reuses it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
CONSTRAINTS=$ROOT/tools/constraints.txt
TORCH_VERSION=2.13.0
MMCV_VERSION=2.1.0
WHEELHOUSE=${MMVIT_WHEELHOUSE:-$HOME/.cache/mmvit-wheelhouse/torch-$TORCH_VERSION-cpu-cp311}
STAMP=$VENV/.mmvit-install-stamp
PYTHON=${PYTHON:-python3}

log() { printf '[install] %s\n' "$*"; }

# Fingerprint of everything that decides the environment: re-run the full install only
# when one of these changed or the last install did not finish.
fingerprint() {
  cat "$ROOT/tools/install.sh" "$CONSTRAINTS" "$ROOT/setup.py" | sha256sum | cut -d' ' -f1
}

if [[ -f $STAMP && "$(cat "$STAMP")" == "$(fingerprint)" ]] \
   && "$VENV/bin/python" -c 'import mmvit, mmcv.ops, mmdet, mmseg, mmpretrain' 2>/dev/null; then
  log "environment in $VENV is up to date"
  exit 0
fi

# 1) system packages: a C++ compiler for mmcv's ops; GL/glib runtime for opencv.
missing=()
command -v g++ >/dev/null || missing+=(g++)
command -v gcc >/dev/null || missing+=(gcc)
ldconfig -p | grep -q 'libGL.so.1 ' || missing+=(libgl1)
ldconfig -p | grep -q 'libglib-2.0.so.0 ' || missing+=(libglib2.0-0)
if ((${#missing[@]})); then
  log "installing system packages: ${missing[*]}"
  SUDO=(); [[ $(id -u) -ne 0 ]] && SUDO=(sudo)
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
"$PYTHON" -c 'import sysconfig, os, sys; h = sysconfig.get_paths()["include"]; sys.exit(0 if os.path.exists(os.path.join(h, "Python.h")) else "Python headers (Python.h) missing: install python3-dev")'

# 2) the venv and its build tooling. setuptools must stay < 82: mmcv's setup.py and
#    mmengine's `mmdet::` base-config lookup import pkg_resources.
[[ -x $VENV/bin/python ]] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip)
export PIP_DISABLE_PIP_VERSION_CHECK=1
C=(-c "$CONSTRAINTS")
"${PIP[@]}" install -q pip==26.3 setuptools==80.10.2 wheel==0.48.0 ninja==1.13.2

# 3) torch: exactly 2.13.0 (the CPU build lying on disk; anything else pulls a CUDA build).
#    numpy 1.x needs opencv-python < 4.12.
"${PIP[@]}" install -q "${C[@]}" "torch==$TORCH_VERSION" numpy==1.26.4 opencv-python==4.11.0.86

# 4) mmcv with its CPU ops, built once from the sdist and cached in the wheelhouse.
MMCV_WHL=$WHEELHOUSE/mmcv-$MMCV_VERSION-cp311-cp311-linux_x86_64.whl
if [[ ! -f $MMCV_WHL ]]; then
  log "building mmcv $MMCV_VERSION with ops from source (15-35 min on 2 cores, done once)"
  mkdir -p "$WHEELHOUSE"
  env -u FORCE_CUDA MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
    "${PIP[@]}" wheel -q "${C[@]}" --no-build-isolation --no-deps "mmcv==$MMCV_VERSION" -w "$WHEELHOUSE"
fi
"${PIP[@]}" install -q "${C[@]}" "$MMCV_WHL"

# 5) the toolboxes (+ mmseg's undeclared ftfy/regex, + torchvision that mmpretrain imports;
#    mmvit.compat makes the PyPI torchvision importable beside the CPU torch).
"${PIP[@]}" install -q "${C[@]}" mmengine==0.10.7 mmdet==3.3.0 mmsegmentation==1.2.2 mmpretrain==1.2.0 \
  pycocotools==2.0.11 ftfy regex torchvision==0.28.0 timm==1.0.31
# openmim without opendatalab (that one downgrades setuptools and half the stack).
"${PIP[@]}" install -q "${C[@]}" --no-deps openmim==0.3.9
"${PIP[@]}" install -q "${C[@]}" click colorama model-index tabulate pandas requests

# 6) test tools (timm and transformers are the independent references of the
#    weight-conversion parity tests; transformers < 4.28 keeps mmpretrain's
#    multimodal models, which break `import mmdet.models`, switched off), and
#    mmvit itself (editable).
"${PIP[@]}" install -q pytest==9.0.1 pytest-timeout==2.4.0 pytest-xdist==3.8.0
"${PIP[@]}" install -q "${C[@]}" transformers==4.27.4 tokenizers==0.13.3
# ONNX export (torch.onnx's exporter needs onnxscript) and its onnxruntime parity checks.
"${PIP[@]}" install -q "${C[@]}" onnx==1.23.2 onnxscript==0.7.2 onnxruntime==1.31.1
# Deployment runtimes: OpenVINO + NNCF (x86 servers, INT8), ExecuTorch with
# XNNPACK (phones; PT2E INT8 through torchao). executorch 1.5.1 declares
# numpy>=2 (and coremltools, pandas>=2.2, hydra, tokenizers, test tools)
# but its export, lowering and runtime work with the training stack's numpy
# 1.26.4 (the whole suite runs on it), so it shares this environment,
# installed without its declared dependencies plus the two it imports.
"${PIP[@]}" install -q "${C[@]}" openvino==2026.4.1 nncf==3.4.0
"${PIP[@]}" install -q "${C[@]}" --no-deps executorch==1.5.1 torchao==0.18.0
"${PIP[@]}" install -q "${C[@]}" flatbuffers==25.12.19 ruamel.yaml==0.19.1
# The docs (docs/en: Sphinx + myst-parser, no theme package; tests/test_docs.py builds
#    them with warnings as errors).
"${PIP[@]}" install -q "${C[@]}" sphinx==9.0.4 myst-parser==5.2.0
"${PIP[@]}" install -q "${C[@]}" --no-build-isolation --no-deps -e "$ROOT"

# 7) make stock OpenMMLab entry points (e.g. mmdet's browse_dataset, which imports
#    mmdet.models before reading a config) see the torchvision fix as well: a one-line
#    .pth that installs mmvit's lazy import hook (costs nothing until torchvision is imported).
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo 'import mmvit.compat as _c; _c.install_torchvision_hook()' > "$SITE/mmvit_compat.pth"

"$VENV/bin/python" -c 'import mmvit, mmcv.ops, mmdet.models, mmseg.models, mmpretrain.models; print("mmvit", mmvit.__version__, "ready")'
"$VENV/bin/python" -c 'import sphinx, myst_parser; print("sphinx", sphinx.__version__, "+ myst-parser", myst_parser.__version__, "ready")'
"$VENV/bin/python" -c 'import openvino, nncf, executorch.runtime, executorch.backends.xnnpack.partition.xnnpack_partitioner; print("deployment runtimes ready")'
fingerprint > "$STAMP"
log "done: activate with  source $VENV/bin/activate"
