"""The Python checks of the GPU smoke test (``tools/gpu_smoke_test.sh``).

Each subcommand prints what it measured, ends with ``smoke: ...`` lines (the
shell script copies them into its ``summary.txt``) and exits 0 (pass) or 1
(fail)::

    python tools/gpu_smoke_checks.py probe           # nvidia-smi aside: torch, CUDA, mmcv's CUDA NMS
    python tools/gpu_smoke_checks.py sdpa [--out F]  # fused attention kernels on every MobileViT head
    python tools/gpu_smoke_checks.py memory          # DeepLabv3-S 512x512 x8 train-step peak memory, fp32 vs AMP
    python tools/gpu_smoke_checks.py deploy-parity CONFIG [CKPT]   # switch_to_deploy (BN folding) on CUDA
    python tools/gpu_smoke_checks.py onnx -- EXPORT_ARGS           # export_onnx.py --verify, with a bound
    python tools/gpu_smoke_checks.py metric WORK_DIR KEY           # a val / test metric a run logged
    python tools/gpu_smoke_checks.py compare-metrics DIR_A DIR_B KEY [--decimals 3]
    python tools/gpu_smoke_checks.py resume-check WORK_DIR         # epoch_1 -> --resume -> epoch_2
    python tools/gpu_smoke_checks.py write-configs OUT_DIR --data-root DIR
    python tools/gpu_smoke_checks.py check-commands COMMANDS_TSV   # the dry run's static check

``--dry-run`` (``probe``, ``sdpa``, ``memory``, ``deploy-parity``) runs the
same code on the CPU, where that still tests something: mmcv's NMS on CPU,
the attention kernels PyTorch has on CPU (float32), one small DeepLabv3-S
train step (no peak memory), BN folding of a model with random weights and
BN statistics. ``check-commands`` checks the commands the dry run of the
shell script recorded: every tool exists, every config loads with the
command's ``--cfg-options``, its data / checkpoints / class counts pass
``mmvit.preflight.check_config``, its model builds (SyncBN included), and its
hooks, loops and AMP dtype are ones mmengine accepts.
"""
import argparse
import copy
import functools
import glob
import importlib.util
import inspect
import json
import math
import os
import os.path as osp
import shlex
import sys
import warnings
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, REPO_ROOT)

import mmvit  # noqa: E402,F401 (compatibility fixes before any toolbox)
from mmvit.utils.cli import run_cli, save_json  # noqa: E402

#: Bound on ``max|a - b| / max|b|`` of two float32 computations of a whole
#: network (BN folded or not, onnxruntime or PyTorch): the rule of the test
#: suite (tests/numerics.py derives it from float32 rounding over ~50 layers).
REL = 1e-4
#: Fraction of argmax labels that may flip between two such computations.
ARGMAX_FLIP_FRACTION = 1e-3
#: Fused-attention kernels against the math kernel in the same half dtype:
#: both share the projections; the attention itself differs by accumulation
#: order, a few unit roundoffs of the dtype per output after the softmax
#: normalisation. 64 roundoffs (fp16 3e-2, bf16 0.25) leave a wide margin
#: while a wrong kernel (layout, scale, mask) is off by O(1).
SDPA_ROUNDOFFS = 64

DEEPLAB_S = 'configs/deeplabv3_mobilevit/deeplabv3_mobilevit-s-d16_4xb32-50e_voc12aug-512x512.py'


def smoke(message: str) -> None:
    """The one-line result the shell script copies into summary.txt."""
    print(f'smoke: {message}', flush=True)


def relative_error(actual, expected) -> float:
    """``max|actual - expected| / max|expected|`` over (nested sequences of)
    tensors of the same shapes; inf if any value is not finite."""
    if isinstance(expected, torch.Tensor):
        actual, expected = [actual], [expected]
    error, scale = 0., 0.
    for act, exp in zip(_flatten(actual), _flatten(expected)):
        if act.shape != exp.shape:
            raise ValueError(f'shapes differ: {tuple(act.shape)} vs '
                             f'{tuple(exp.shape)}')
        if exp.numel() == 0:
            continue
        act, exp = act.detach().double().cpu(), exp.detach().double().cpu()
        if not (torch.isfinite(act).all() and torch.isfinite(exp).all()):
            return math.inf
        error = max(error, float((act - exp).abs().max()))
        scale = max(scale, float(exp.abs().max()))
    if error == 0.:
        return 0.
    return error / max(scale, torch.finfo(torch.float32).tiny)


def _flatten(value) -> List[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    return [t for item in value for t in _flatten(item)]


def _load_tool(path: str):
    """A script of the repository (e.g. ``tools/train.py``) as a module."""
    name = 'mmvit_smoke_' + path[:-len('.py')].replace('/', '_')
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name,
                                                  osp.join(REPO_ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module


def _device(dry_run: bool) -> str:
    return 'cpu' if dry_run else 'cuda'


# --------------------------------------------------------------------------
# probe
# --------------------------------------------------------------------------
def probe(device: str = 'cuda') -> bool:
    """Print the torch / CUDA / OpenMMLab versions and run ``mmcv.ops.nms``
    on two overlapping boxes on ``device``."""
    import mmcv
    import mmengine
    print(f'python {sys.version.split()[0]}, torch {torch.__version__} '
          f'(CUDA {torch.version.cuda}, cuDNN '
          f'{torch.backends.cudnn.version()}), mmengine '
          f'{mmengine.__version__}, mmcv {mmcv.__version__}')
    for name in ('mmdet', 'mmseg', 'mmpretrain', 'onnxruntime'):
        try:
            print(f'{name} {importlib.import_module(name).__version__}')
        except ImportError as err:
            print(f'{name}: not importable ({err})')
    try:
        from mmcv.ops import (get_compiler_version,
                              get_compiling_cuda_version, nms)
    except ImportError as err:
        smoke(f'mmcv has no compiled ops ({err}): install mmcv built with '
              'its ops (mmcv, not mmcv-lite)')
        return False
    print(f'mmcv ops built with CUDA {get_compiling_cuda_version()}, '
          f'{get_compiler_version()}')
    if device == 'cuda':
        if not torch.cuda.is_available():
            smoke('torch.cuda.is_available() is False')
            return False
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            print(f'cuda:{i} {props.name}, compute capability '
                  f'{props.major}.{props.minor}, '
                  f'{props.total_memory / 2**30:.0f} GiB')
        print(f'bf16 supported: {torch.cuda.is_bf16_supported()}')
    # IoU of the two boxes = 81 / 119 = 0.68 > 0.5: only the first stays
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.]],
                         device=device)
    scores = torch.tensor([0.9, 0.8], device=device)
    try:
        dets, keep = nms(boxes, scores, iou_threshold=0.5)
    except RuntimeError as err:
        smoke(f'mmcv.ops.nms on {device} failed: {str(err)[:300]}')
        return False
    ok = keep.tolist() == [0] and dets.device.type == device
    where = (torch.cuda.get_device_name(0) if device == 'cuda' else 'cpu')
    smoke(f'torch {torch.__version__} CUDA {torch.version.cuda}, '
          f'mmcv.ops.nms on {device} ({where}): '
          f'{"ok" if ok else "wrong result " + str(keep.tolist())}')
    return ok


# --------------------------------------------------------------------------
# sdpa
# --------------------------------------------------------------------------
def _sdpa_backends() -> Dict[str, Callable]:
    """Context managers that restrict ``scaled_dot_product_attention`` to one
    backend, by short name (whatever this torch has)."""
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:  # torch < 2.3
        from torch.backends.cuda import sdp_kernel
        flags = dict(
            flash='enable_flash',
            efficient='enable_mem_efficient',
            math='enable_math')
        return {
            name: functools.partial(
                sdp_kernel, **{f: f == flag
                               for f in flags.values()})
            for name, flag in flags.items()
        }
    names = dict(
        flash='FLASH_ATTENTION',
        efficient='EFFICIENT_ATTENTION',
        cudnn='CUDNN_ATTENTION',
        math='MATH')
    return {
        name: functools.partial(sdpa_kernel, [getattr(SDPBackend, member)])
        for name, member in names.items() if hasattr(SDPBackend, member)
    }


def _attention_inputs(arch: str, size: int, batch: int, device: str,
                      dtype: torch.dtype) -> List[Tuple[str, object, object]]:
    """``(name, attention module, its input)`` for the first attention of
    every MobileViT stage of ``arch`` (the other blocks of a stage have the
    same shapes), from one forward pass at ``size`` x ``size``."""
    from mmvit.models.backbones import MobileViT
    from mmvit.models.layers import MultiheadSelfAttention
    model = MobileViT(arch=arch, out_indices=(4, )).to(device, dtype).eval()
    captured, seen = [], set()

    def hook(name, module, args):
        # [B*P, N, d]: one sequence per pixel position P of a 2x2 patch
        x = args[0]
        key = (x.shape[1:], module.num_heads)
        if key not in seen:
            seen.add(key)
            captured.append((name, module, x.detach().clone()))

    handles = [
        module.register_forward_pre_hook(functools.partial(hook, name))
        for name, module in model.named_modules()
        if isinstance(module, MultiheadSelfAttention)
    ]
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        model(torch.rand(batch, 3, size, size, generator=gen).to(
            device, dtype))
    for handle in handles:
        handle.remove()
    return captured


def _run_attention(module, x, backend: Callable):
    """Output and input gradient of ``module(x)`` under ``backend``, or the
    reason the backend refused (``None, None, reason``)."""
    x = x.clone().requires_grad_(True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        try:
            with backend():
                out = module(x)
                out.float().square().mean().backward()
        except RuntimeError as err:
            # PyTorch says why in warnings ("... requires ... divisible by 8")
            # (CUDA); skip the headers ("Flash attention kernel not used
            # because:")
            reasons = [
                str(w.message).strip().split('\n')[0] for w in caught
                if not str(w.message).strip().endswith('because:')
            ]
            reason = '; '.join(dict.fromkeys(reasons)) or str(err).split(
                '\n')[0]
            return None, None, reason[:300]
    return out.detach(), x.grad.detach(), None


def sdpa_check(device: str = 'cuda',
               dtypes: Sequence[str] = ('float16', 'bfloat16'),
               size: int = 256,
               batch: int = 2,
               out: Optional[str] = None) -> bool:
    """Run the MobileViT attention of every variant and stage with
    ``scaled_dot_product_attention`` restricted to each backend (flash,
    memory-efficient, cuDNN where this torch has it, math).

    A backend that refuses a head shape is recorded (the head dims of
    MobileViT are 16-60, some not multiples of 8), not failed: PyTorch's
    default dispatch then takes another kernel. Fails if the math kernel
    cannot run, or a kernel that runs gives non-finite values or differs from
    the math kernel in the same dtype by more than ``SDPA_ROUNDOFFS`` unit
    roundoffs.
    """
    from mmvit.models.backbones import MobileViT
    backends = _sdpa_backends()
    print(f'torch {torch.__version__}, backends: {", ".join(backends)}, '
          f'device {device}')
    rows, ok = [], True
    for dtype_name in dtypes:
        dtype = getattr(torch, dtype_name)
        bound = SDPA_ROUNDOFFS * torch.finfo(dtype).eps / 2
        for arch in MobileViT.arch_settings:
            for name, module, x in _attention_inputs(arch, size, batch,
                                                     device, dtype):
                embed = x.shape[-1]
                head_dim = embed // module.num_heads
                ref_out, ref_grad, reason = _run_attention(
                    module, x, backends['math'])
                if reason is not None:
                    ok = False
                for backend, context in backends.items():
                    row = dict(
                        dtype=dtype_name,
                        arch=arch,
                        module=name,
                        tokens=int(x.shape[1]),
                        embed_dims=int(embed),
                        num_heads=module.num_heads,
                        head_dim=head_dim,
                        backend=backend)
                    if backend == 'math':
                        out_, grad, why = ref_out, ref_grad, reason
                    else:
                        out_, grad, why = _run_attention(module, x, context)
                    if why is not None:
                        row.update(status='unavailable', reason=why)
                    elif ref_out is None:
                        row.update(status='ran (no math reference)')
                    else:
                        rel = relative_error(out_, ref_out)
                        rel_grad = relative_error(grad, ref_grad)
                        good = rel <= bound and math.isfinite(rel_grad)
                        ok &= good
                        row.update(
                            status='ok' if good else 'WRONG',
                            rel_out=rel,
                            rel_grad=rel_grad,
                            bound=bound)
                    rows.append(row)
                    print(f'{dtype_name:8s} {arch:8s} {name:28s} N='
                          f'{row["tokens"]:5d} d={embed:3d} heads='
                          f'{module.num_heads} head_dim={head_dim:2d} '
                          f'{backend:9s} {row["status"]}' +
                          (f' rel {row["rel_out"]:.2g} (grad '
                           f'{row["rel_grad"]:.2g})' if 'rel_out' in row else
                           '') +
                          (f': {row["reason"]}' if 'reason' in row else ''))
    save_json(rows, out)
    refused: Dict[Tuple[str, str], set] = {}
    for row in rows:
        if row['status'] == 'unavailable':
            refused.setdefault((row['backend'], row['dtype']),
                               set()).add(row['head_dim'])
    summary = '; '.join(
        f'{backend} {dtype} refuses head_dim {sorted(dims)}'
        for (backend, dtype), dims in sorted(refused.items())) or (
            'every backend ran every head')
    wrong = sum(row['status'] == 'WRONG' for row in rows)
    smoke(f'sdpa on {device} {"/".join(dtypes)}: {summary}' +
          (f'; {wrong} WRONG results' if wrong else '') +
          ('' if ok else '; FAILED (math kernel or a fused kernel wrong)'))
    return ok


# --------------------------------------------------------------------------
# memory
# --------------------------------------------------------------------------
def _seg_batch(batch: int, size: int, num_classes: int) -> dict:
    """A data batch as mmseg's dataloader gives it: uint8 images and
    ``SegDataSample`` s with random labels."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    gen = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(
            torch.randint(0, 256, (3, size, size), generator=gen).to(
                torch.uint8))
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, size, size), generator=gen))
        sample.set_metainfo(dict(img_shape=(size, size), ori_shape=(size,
                                                                    size)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def memory_check(config: str = DEEPLAB_S,
                 batch: int = 8,
                 size: int = 512,
                 device: str = 'cuda',
                 modes: Sequence[str] = ('fp32', 'amp'),
                 steps: int = 2) -> bool:
    """Peak ``torch.cuda.max_memory_allocated`` of one train step (model
    ``train_step`` through mmengine's ``OptimWrapper`` / ``AmpOptimWrapper``,
    AdamW, optimizer state allocated by an earlier step) of ``config``'s
    segmentor per mode. Fails if a step fails or AMP does not use less
    memory than fp32."""
    from mmengine.optim import AmpOptimWrapper, OptimWrapper
    from mmvit.apis import build_model, load_config
    cfg = load_config(config)
    cfg.model.data_preprocessor.size = (size, size)
    base = build_model(cfg)  # SyncBN reverted: one process
    num_classes = base.decode_head.num_classes
    data = _seg_batch(batch, size, num_classes)
    peaks, ok = {}, True
    for mode in modes:
        model = copy.deepcopy(base).to(device).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        wrapper = (AmpOptimWrapper(optimizer=optimizer)
                   if mode == 'amp' else OptimWrapper(optimizer=optimizer))
        try:
            for step in range(steps):
                if device == 'cuda' and step == steps - 1:
                    torch.cuda.synchronize()
                    torch.cuda.reset_peak_memory_stats()
                losses = model.train_step(data, wrapper)
            loss = float(losses['loss'])  # the sum of the loss terms
        except RuntimeError as err:
            print(f'{mode}: train step failed: {str(err)[:500]}')
            ok = False
            continue
        if device == 'cuda':
            torch.cuda.synchronize()
            peaks[mode] = torch.cuda.max_memory_allocated() / 2**20
            print(f'{mode}: loss {loss:.3f}, peak {peaks[mode]:.0f} MiB')
        else:
            print(f'{mode}: loss {loss:.3f} (peak memory is measured on '
                  'CUDA only)')
        ok &= math.isfinite(loss)
        del model, optimizer, wrapper
        if device == 'cuda':
            torch.cuda.empty_cache()
    what = f'{osp.basename(config)} {size}x{size} batch {batch}'
    if device != 'cuda':
        smoke(f'memory: {what} train step ran on {device} '
              f'({"/".join(modes)}); peak memory needs CUDA')
        return ok
    if 'fp32' in peaks and 'amp' in peaks:
        ok &= peaks['amp'] < peaks['fp32']
        smoke(f'memory: {what}: fp32 {peaks["fp32"]:.0f} MiB, AMP '
              f'{peaks["amp"]:.0f} MiB '
              f'({peaks["amp"] / peaks["fp32"]:.2f}x)' +
              ('' if ok else ' FAILED'))
    else:
        smoke(f'memory: {what}: FAILED ({", ".join(peaks) or "no mode"} '
              'ran)')
    return ok


# --------------------------------------------------------------------------
# deploy-parity
# --------------------------------------------------------------------------
def _randomize_norms(model, seed: int = 0) -> None:
    """BN statistics and affine parameters of the size trained ones have, so
    that a dropped or misplaced BN term shows."""
    from torch.nn.modules.batchnorm import _BatchNorm
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, _BatchNorm):
                size = module.num_features
                if module.track_running_stats:
                    module.running_mean.copy_(torch.randn(size, generator=gen)
                                              * .1)
                    module.running_var.copy_(torch.rand(size, generator=gen)
                                             * .5 + .75)
                if module.affine:
                    module.weight.copy_(torch.rand(size, generator=gen) * .5
                                        + .75)
                    module.bias.copy_(torch.randn(size, generator=gen) * .1)


def deploy_parity(config: str,
                  checkpoint: Optional[str] = None,
                  device: str = 'cuda',
                  shape: Sequence[int] = (256, 256),
                  batch: int = 2) -> bool:
    """``mmvit.deployment.switch_to_deploy`` (BN folding, with and without
    channels-last) against the unfolded model on ``device``: raw outputs
    (``mode='tensor'``) of random images through the model's data
    preprocessor, within :data:`REL` with TF32 off (the float32 rule; TF32,
    PyTorch's default for cuDNN convolutions, is reported alongside).
    Without ``checkpoint``, random weights with random BN statistics."""
    from torch.nn.modules.batchnorm import _BatchNorm

    from mmvit.apis import build_model
    from mmvit.deployment import switch_to_deploy
    model = build_model(config, checkpoint)
    if checkpoint is None:
        _randomize_norms(model)
    num_bn = sum(isinstance(m, _BatchNorm) for m in model.modules())
    folded = switch_to_deploy(copy.deepcopy(model))
    folded_cl = switch_to_deploy(copy.deepcopy(model), channels_last=True)
    left = sum(isinstance(m, _BatchNorm) for m in folded.modules())
    height, width = shape
    gen = torch.Generator().manual_seed(0)
    images = [(torch.rand(3, height, width, generator=gen) * 255).to(
        torch.uint8) for _ in range(batch)]
    models = dict(reference=model, folded=folded, folded_cl=folded_cl)
    for m in models.values():
        m.to(device)
    with torch.no_grad():
        inputs = model.data_preprocessor(dict(inputs=images), False)['inputs']
    results = {}
    tf32 = (torch.backends.cuda.matmul.allow_tf32,
            torch.backends.cudnn.allow_tf32)
    try:
        # TF32 exists on CUDA only
        for allow in (False, True) if device == 'cuda' else (False, ):
            torch.backends.cuda.matmul.allow_tf32 = allow
            torch.backends.cudnn.allow_tf32 = allow
            with torch.no_grad():
                outs = {
                    name: m(inputs, mode='tensor')
                    for name, m in models.items()
                }
            for name in ('folded', 'folded_cl'):
                results[(name, allow)] = relative_error(
                    outs[name], outs['reference'])
    finally:
        torch.backends.cuda.matmul.allow_tf32, \
            torch.backends.cudnn.allow_tf32 = tf32
    ok = all(results[(name, False)] <= REL
             for name in ('folded', 'folded_cl'))
    weights = (f'checkpoint {checkpoint}'
               if checkpoint else 'random weights and BN statistics')
    print(f'{config} with {weights}, {batch} x {height}x{width} on {device}: '
          f'{num_bn - left} of {num_bn} BatchNorms folded')
    for (name, allow), rel in sorted(results.items()):
        print(f'  {name:9s} vs unfolded, TF32 {"on " if allow else "off"}: '
              f'relative {rel:.3g}' +
              ('' if allow else f' (bound {REL:g})'))
    smoke(f'deploy parity on {device} ({osp.basename(config)}, '
          f'{"trained" if checkpoint else "random"} weights): folded '
          f'{num_bn - left}/{num_bn} BN, relative '
          f'{results[("folded", False)]:.2g} / channels-last '
          f'{results[("folded_cl", False)]:.2g} (bound {REL:g}' +
          (f', TF32 off; TF32 on: {results[("folded", True)]:.2g})'
           if device == 'cuda' else ')') +
          ('' if ok else ' FAILED'))
    return ok


# --------------------------------------------------------------------------
# onnx
# --------------------------------------------------------------------------
def onnx_check(export_args: Sequence[str]) -> bool:
    """``tools/deployment/export_onnx.py EXPORT_ARGS --verify`` and hold its
    onnxruntime-vs-PyTorch differences against the float32 rule."""
    args = list(export_args)
    if '--verify' not in args:
        args.append('--verify')
    tool = _load_tool('tools/deployment/export_onnx.py')
    print('python tools/deployment/export_onnx.py ' + shlex.join(args))
    summary = tool.main(args)
    ok = True
    worst = {}
    for batch, rels in summary['max_rel_diff'].items():
        for name, rel in zip(summary['outputs'], rels):
            bound = ARGMAX_FLIP_FRACTION if name == 'labels' else REL
            ok &= rel <= bound
            worst[name] = max(worst.get(name, 0.), rel)
    smoke(f'onnx {summary["task"]} opset {summary["opset"]}: ' + ', '.join(
        f'{name} {rel:.2g}' for name, rel in worst.items()) +
          f' (bounds {REL:g}, labels {ARGMAX_FLIP_FRACTION:g})' +
          ('' if ok else ' FAILED'))
    return ok


# --------------------------------------------------------------------------
# metrics and resume
# --------------------------------------------------------------------------
def _json_records(path: str) -> List[dict]:
    """The records of an mmengine json log (one json object, or one per
    line)."""
    with open(path) as f:
        text = f.read()
    try:
        record = json.loads(text)
        return [record] if isinstance(record, dict) else []
    except json.JSONDecodeError:
        return [
            json.loads(line) for line in text.splitlines() if line.strip()
        ]


def read_metric(work_dir: str, key: str) -> Optional[float]:
    """The last value of ``key`` the newest run in ``work_dir`` logged (val
    metrics in ``vis_data/scalars.json``, test metrics in
    ``<timestamp>/<timestamp>.json``), or None."""
    files = sorted(
        glob.glob(osp.join(work_dir, '**', '*.json'), recursive=True),
        key=osp.getmtime)
    for path in reversed(files):
        values = [r[key] for r in _json_records(path) if key in r]
        if values:
            return float(values[-1])
    return None


def metric_check(work_dir: str, key: str) -> bool:
    value = read_metric(work_dir, key)
    if value is None:
        smoke(f'{key}: not logged under {work_dir} (FAILED)')
        return False
    smoke(f'{key} = {value:.4g}')
    return math.isfinite(value)


def compare_metrics(dir_a: str,
                    dir_b: str,
                    key: str,
                    decimals: int = 3,
                    names: Sequence[str] = ('a', 'b')) -> bool:
    """The same metric of two runs, equal when rounded to ``decimals``."""
    a, b = read_metric(dir_a, key), read_metric(dir_b, key)
    if a is None or b is None:
        smoke(f'{key}: missing ({names[0]} {a}, {names[1]} {b}) (FAILED)')
        return False
    ok = round(a, decimals) == round(b, decimals)
    note = ' (both 0: says little)' if a == b == 0 else ''
    smoke(f'{key}: {names[0]} {a:.{decimals}f}, {names[1]} '
          f'{b:.{decimals}f}: ' +
          (f'equal to {decimals} decimals' if ok else 'DIFFERENT (FAILED)') +
          note)
    return ok


def resume_check(work_dir: str) -> bool:
    """``epoch_1.pth`` of a first run and ``epoch_2.pth`` of its
    ``--resume``: epochs and iterations continue, EMA state is saved, and
    the resumed run logged no iteration of epoch 1 again."""
    ckpts = {}
    for epoch in (1, 2):
        path = osp.join(work_dir, f'epoch_{epoch}.pth')
        if not osp.isfile(path):
            smoke(f'resume: {path} missing (FAILED)')
            return False
        ckpts[epoch] = torch.load(path, map_location='cpu',
                                  weights_only=False)  # written by this run
    meta = {e: c.get('meta', {}) for e, c in ckpts.items()}
    problems = []
    for epoch in (1, 2):
        if meta[epoch].get('epoch') != epoch:
            problems.append(f'epoch_{epoch}.pth says epoch '
                            f'{meta[epoch].get("epoch")}')
        if 'ema_state_dict' not in ckpts[epoch]:
            problems.append(f'epoch_{epoch}.pth has no ema_state_dict')
    iter1, iter2 = meta[1].get('iter', 0), meta[2].get('iter', 0)
    if not iter2 > iter1 > 0:
        problems.append(f'iterations {iter1} -> {iter2}')
    runs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                     'scalars.json')))
    if not runs:
        problems.append('no scalars.json of the resumed run')
    else:
        iters = [r['iter'] for r in _json_records(runs[-1]) if 'loss' in r]
        if iters and min(iters) <= iter1:
            problems.append(f'the resumed run logged iteration {min(iters)} '
                            f'<= {iter1}: it trained epoch 1 again')
    smoke(f'resume: epoch 1 at iter {iter1} -> epoch 2 at iter {iter2}, '
          f'EMA saved: ' + ('; '.join(problems) + ' (FAILED)'
                            if problems else 'ok'))
    return not problems


# --------------------------------------------------------------------------
# write-configs
# --------------------------------------------------------------------------
_HEADER = """\
# Generated by tools/gpu_smoke_checks.py write-configs for the GPU smoke test
# (tools/gpu_smoke_test.sh): the repository config below at smoke-test size,
# on generated data, no pretraining stage.
_base_ = {base!r}
"""

# both sized configs: data, loaders, 1 epoch; the detector adds CocoMetric
_SIZED_DATA = """\
data_root = {root!r}
model = dict(backbone=dict(init_cfg=None))
# drop_last: a last batch of one image cannot train BN (SSDLite's 1x1
# levels, the ASPP image pool)
train_dataloader = dict(
    drop_last=True,
    dataset=dict(data_root=data_root, num_train={num_train},
                 num_val={num_val}))
val_dataloader = dict(
    dataset=dict(data_root=data_root, num_train={num_train},
                 num_val={num_val}))
test_dataloader = val_dataloader
"""
_SIZED_SCHEDULE = """\
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=2), checkpoint=dict(interval=1))
"""
_DET = _HEADER + _SIZED_DATA + """\
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
""" + _SIZED_SCHEDULE
_SEG = _HEADER + _SIZED_DATA + _SIZED_SCHEDULE

# the repository config trains without EMA (too short a run); the smoke test
# adds mmengine's EMAHook back to check its state across --resume
_CLS = _HEADER + """\
data_root = {root!r}
train_dataloader = dict(
    dataset=dict(
        dataset=dict(data_root=data_root, num_train={num_train},
                     num_val={num_val})))
val_dataloader = dict(
    dataset=dict(data_root=data_root, num_train={num_train},
                 num_val={num_val}))
test_dataloader = val_dataloader
# the first run stops after epoch 1 (train_cfg.max_epochs=1), --resume
# trains epoch 2
train_cfg = dict(max_epochs=2, val_interval=1)
custom_hooks = [
    dict(
        type='EMAHook',
        momentum=0.01,
        update_buffers=True,
        priority='ABOVE_NORMAL'),
    dict(type='mmvit.MidEpochResumeHook'),
]
default_hooks = dict(
    logger=dict(interval=4), checkpoint=dict(interval=1, max_keep_ckpts=2))
"""

#: ``(file written, template, repository config, data kind)``
SMOKE_CONFIGS = (
    ('ssdlite_mobilevit_xxs_shapes_smoke.py', _DET,
     'configs/ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py', 'shapes'),
    ('deeplabv3_mobilevit_xxs_shapes_smoke.py', _SEG,
     'configs/deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_1xb8-2e_shapes-256x256.py',
     'shapes'),
    ('mobilevit-xxsmall_shapes_smoke.py', _CLS,
     'configs/mobilevit/mobilevit-xxsmall_1xb32_shapes.py', 'cls'),
)


def write_configs(out_dir: str,
                  data_root: str,
                  num_train: int = 64,
                  num_val: int = 16,
                  num_train_cls: int = 512,
                  num_val_cls: int = 32) -> List[str]:
    """Write the smoke-test configs (each inherits a repository config by
    absolute path) to ``out_dir``; data under ``data_root/shapes_gpu`` and
    ``data_root/shapes_gpu_cls``."""
    os.makedirs(out_dir, exist_ok=True)
    counts = dict(
        shapes=(num_train, num_val), cls=(num_train_cls, num_val_cls))
    roots = dict(shapes='shapes_gpu', cls='shapes_gpu_cls')
    paths = []
    for name, template, base, kind in SMOKE_CONFIGS:
        path = osp.join(out_dir, name)
        with open(path, 'w') as f:
            f.write(
                template.format(
                    base=osp.join(REPO_ROOT, base),
                    root=osp.join(osp.abspath(data_root), roots[kind]) + '/',
                    num_train=counts[kind][0],
                    num_val=counts[kind][1]))
        paths.append(path)
        print(path)
    return paths


# --------------------------------------------------------------------------
# check-commands (the dry run)
# --------------------------------------------------------------------------
class _Checker:
    """Static checks of the commands the smoke test runs."""

    def __init__(self):
        self._models: Dict[str, Optional[str]] = {}

    def __call__(self, argv: List[str]) -> List[str]:
        """Problems of one command line (empty: fine)."""
        tools = [i for i, arg in enumerate(argv) if arg.endswith(('.py',
                                                                  '.sh'))]
        if not tools:  # an external program such as nvidia-smi
            return []
        tool, rest = argv[tools[0]], argv[tools[0] + 1:]
        if not osp.isfile(tool):
            return [f'tool not found: {tool}']
        check = getattr(self, '_' + osp.basename(tool).replace('.', '_')
                        .replace('-', '_'), None)
        if check is None:
            return [f'no static check for {tool}']
        try:
            return check(rest)
        except SystemExit as err:  # argparse
            return [f'{tool}: bad arguments (exit {err.code})']
        except Exception as err:  # noqa: BLE001 (report, check the rest)
            return [f'{tool}: {type(err).__name__}: {str(err)[:1500]}']

    # ------------------------------------------------------------- tools
    def _train_py(self, rest: List[str]) -> List[str]:
        from mmvit.preflight import check_config
        tool = _load_tool('tools/train.py')
        cfg = tool.build_config(tool.parse_args(rest))
        check_config(cfg, 'train')
        return self._runtime(cfg)

    def _dist_train_sh(self, rest: List[str]) -> List[str]:
        if len(rest) < 2 or not rest[1].isdigit() or int(rest[1]) < 1:
            return ['dist_train.sh CONFIG GPUS [options]: GPUS must be a '
                    'positive number']
        return self._train_py([rest[0], '--launcher', 'pytorch'] + rest[2:])

    def _test_py(self, rest: List[str]) -> List[str]:
        from mmvit.apis import load_config
        from mmvit.preflight import check_config
        args = _load_tool('tools/test.py').parse_args(rest)
        cfg = load_config(args.config, args.launcher, args.cfg_options,
                          args.work_dir)
        check_config(cfg, 'test')
        return self._runtime(cfg)

    def _export_onnx_py(self, rest: List[str]) -> List[str]:
        from mmengine.config import Config
        args = _load_tool('tools/deployment/export_onnx.py').parse_args(rest)
        Config.fromfile(args.config)
        return []

    def _generate_shapes_py(self, rest: List[str]) -> List[str]:
        _load_tool('tools/dataset_converters/generate_shapes.py').parse_args(
            rest)
        return []

    def _gpu_smoke_checks_py(self, rest: List[str]) -> List[str]:
        from mmengine.config import Config
        args = build_parser().parse_args(rest)
        if args.command == 'onnx':
            return self._export_onnx_py(_strip_dashes(args.export_args))
        if getattr(args, 'config', None):
            Config.fromfile(args.config)
        return []

    # ----------------------------------------------------------- runtime
    def _runtime(self, cfg) -> List[str]:
        """What the runner builds from ``cfg`` beyond the datasets: the
        model (once per distinct model config), hooks, loops, AMP."""
        from mmengine.optim import AmpOptimWrapper
        from mmengine.registry import HOOKS, LOOPS, MODELS, DefaultScope
        problems = []
        scope = cfg.get('default_scope')
        key = json.dumps([scope, cfg.model.to_dict()],
                         sort_keys=True,
                         default=str)
        with DefaultScope.overwrite_default_scope(scope):
            if key not in self._models:
                try:
                    MODELS.build(copy.deepcopy(cfg.model))
                    self._models[key] = None
                except Exception as err:  # noqa: BLE001
                    self._models[key] = (f'model does not build: '
                                         f'{type(err).__name__}: {err}')
            if self._models[key]:
                problems.append(self._models[key])
            # the toolbox's registries (mmdet's hooks, ...) under its scope
            with HOOKS.switch_scope_and_registry(scope) as hooks:
                for hook in cfg.get('custom_hooks') or []:
                    if hooks.get(hook['type']) is None:
                        problems.append(f'unknown hook {hook["type"]}')
            with LOOPS.switch_scope_and_registry(scope) as loops:
                for name in ('train_cfg', 'val_cfg', 'test_cfg'):
                    loop = cfg.get(name)
                    if loop:
                        problems += _loop_problems(name, dict(loop), loops)
        optim = cfg.get('optim_wrapper') or {}
        if optim.get('type') == 'AmpOptimWrapper':
            dtype = optim.get('dtype')
            if dtype is not None and dtype not in AmpOptimWrapper.valid_dtypes:
                problems.append(f'optim_wrapper.dtype={dtype!r} is not one '
                                f'of {AmpOptimWrapper.valid_dtypes}')
        return problems


def _strip_dashes(args: List[str]) -> List[str]:
    """``onnx -- ARGS``: the arguments after the ``--``."""
    return args[1:] if args[:1] == ['--'] else args


def _loop_problems(name: str, loop: dict, registry) -> List[str]:
    """Keys of a loop config its class does not take (e.g. a typo in
    ``test_cfg.fp16``)."""
    kind = loop.pop('type', None)
    if kind is None:
        if name == 'train_cfg':
            by_epoch = loop.pop('by_epoch', True)
            kind = 'EpochBasedTrainLoop' if by_epoch else 'IterBasedTrainLoop'
        else:
            kind = 'ValLoop' if name == 'val_cfg' else 'TestLoop'
    cls = registry.get(kind) if isinstance(kind, str) else kind
    if cls is None:
        return [f'{name}: unknown loop {kind}']
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return []
    unknown = sorted(set(loop) - set(params) - {'runner', 'dataloader'})
    return [f'{name}: {cls.__name__} takes no {", ".join(unknown)}'
            ] if unknown else []


def check_commands(path: str, results: Optional[str] = None) -> bool:
    """Check every ``STEP<TAB>COMMAND`` line of ``path``; write
    ``STEP<TAB>OK|FAIL<TAB>problems`` per step to ``results``."""
    checker = _Checker()
    steps: Dict[str, List[str]] = {}
    with open(path) as f:
        lines = [line.rstrip('\n') for line in f if line.strip()]
    for line in lines:
        step, command = line.split('\t', 1)
        problems = checker(shlex.split(command))
        steps.setdefault(step, []).extend(problems)
        print(f'[{step}] {"ok" if not problems else "FAIL"}: {command}')
        for problem in problems:
            print('    ' + problem.replace('\n', '\n    '))
    if results is not None:
        with open(results, 'w') as f:
            for step, problems in steps.items():
                first = problems[0].split('\n')[0] if problems else ''
                f.write(f'{step}\t{"FAIL" if problems else "OK"}\t'
                        f'{first[:300]}\n')
    bad = sum(bool(p) for p in steps.values())
    smoke(f'{len(lines)} commands of {len(steps)} steps checked: ' +
          (f'{bad} steps with problems' if bad else 'all fine'))
    return not bad


# --------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description='Python checks of tools/gpu_smoke_test.sh')
    sub = parser.add_subparsers(dest='command', required=True)
    dry = dict(
        action='store_true',
        help='run on the CPU (what of the check means something there)')

    p = sub.add_parser('probe', help='torch / CUDA / mmcv ops versions, NMS')
    p.add_argument('--dry-run', **dry)

    p = sub.add_parser('sdpa', help='fused attention kernels per head')
    p.add_argument('--dtypes', nargs='+', default=['float16', 'bfloat16'])
    p.add_argument('--size', type=int, default=256)
    p.add_argument('--out', help='write the table as json here')
    p.add_argument('--dry-run', **dry)

    p = sub.add_parser('memory', help='train-step peak memory, fp32 vs AMP')
    p.add_argument('--config', default=DEEPLAB_S)
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--size', type=int, default=512)
    p.add_argument('--dry-run', **dry)

    p = sub.add_parser('deploy-parity', help='switch_to_deploy parity')
    p.add_argument('config')
    p.add_argument('checkpoint', nargs='?')
    p.add_argument('--shape', type=int, nargs=2, default=[256, 256])
    p.add_argument('--dry-run', **dry)

    p = sub.add_parser('onnx', help='export_onnx.py --verify with a bound')
    p.add_argument('export_args', nargs=argparse.REMAINDER)

    p = sub.add_parser('metric', help='a metric the newest run logged')
    p.add_argument('work_dir')
    p.add_argument('key')

    p = sub.add_parser('compare-metrics', help='one metric of two runs')
    p.add_argument('dir_a')
    p.add_argument('dir_b')
    p.add_argument('key')
    p.add_argument('--decimals', type=int, default=3)
    p.add_argument('--names', nargs=2, default=['a', 'b'])

    p = sub.add_parser('resume-check', help='epoch_1 -> --resume -> epoch_2')
    p.add_argument('work_dir')

    p = sub.add_parser('write-configs', help='the smoke-test configs')
    p.add_argument('out_dir')
    p.add_argument('--data-root', required=True)
    p.add_argument('--num-train', type=int, default=64)
    p.add_argument('--num-val', type=int, default=16)
    p.add_argument('--num-train-cls', type=int, default=512)
    p.add_argument('--num-val-cls', type=int, default=32)

    p = sub.add_parser('check-commands', help='static check of commands')
    p.add_argument('commands', help='STEP<TAB>COMMAND lines')
    p.add_argument('--results', help='write per-step verdicts here')
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == 'probe':
        ok = probe(_device(args.dry_run))
    elif args.command == 'sdpa':
        if args.dry_run:  # the attention kernels PyTorch has on CPU
            ok = sdpa_check('cpu', ['float32'], size=64, batch=1,
                            out=args.out)
        else:
            ok = sdpa_check('cuda', args.dtypes, args.size, out=args.out)
    elif args.command == 'memory':
        if args.dry_run:  # the code path: one small fp32 step
            ok = memory_check(args.config, 2, 128, 'cpu', ('fp32', ))
        else:
            ok = memory_check(args.config, args.batch, args.size)
    elif args.command == 'deploy-parity':
        checkpoint = None if args.dry_run else args.checkpoint
        ok = deploy_parity(args.config, checkpoint, _device(args.dry_run),
                           args.shape)
    elif args.command == 'onnx':
        ok = onnx_check(_strip_dashes(args.export_args))
    elif args.command == 'metric':
        ok = metric_check(args.work_dir, args.key)
    elif args.command == 'compare-metrics':
        ok = compare_metrics(args.dir_a, args.dir_b, args.key, args.decimals,
                             args.names)
    elif args.command == 'resume-check':
        ok = resume_check(args.work_dir)
    elif args.command == 'write-configs':
        write_configs(args.out_dir, args.data_root, args.num_train,
                      args.num_val, args.num_train_cls, args.num_val_cls)
        ok = True
    else:
        ok = check_commands(args.commands, args.results)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(run_cli(main))
