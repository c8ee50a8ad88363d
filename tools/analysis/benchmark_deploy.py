"""Batch-1 latency, file size and memory of mmvit models and their peers on
every runtime and precision: PyTorch eager / deploy, onnxruntime, OpenVINO,
ExecuTorch (XNNPACK); fp32, bf16 (OpenVINO, CPUs with bf16), INT8.

    python tools/analysis/benchmark_deploy.py [--models NAME ...]
        [--runtimes R ...] [--precisions P ...] [--threads 1 2]
        [--repeats 20] [--work-dir work_dirs/benchmark_deploy]
        [--checkpoint NAME=PATH ...] [--out results.json] [--markdown]

Models (:data:`MODELS`): MobileViT S / XS / XXS and MobileViTv2 0.5 / 1.0
backbones with timm's ``mobilevit_*`` (``forward_features``) as peers, at
256x256; SSDLite-MobileViT XXS / S with mmdet's SSDLite-MobileNetV2 (the
demo's peer), at 256x256, end to end: the runtime's boxes and scores, then
mmvit's host post-processing (test-time filtering, NMS, rescale), the same
for every runtime; DeepLabv3-MobileViT XXS at 256x256 (logits and argmax).
``--checkpoint ssdlite-xxs=work_dirs/demo/detection/epoch_3.pth`` puts
trained weights in a row (detector rows should have them: with random
weights every anchor passes the score filter and NMS dominates).

How. Every model is exported once per runtime and precision into
``--work-dir`` (kept between runs; INT8 calibrates on ``--calib`` training
images of the config, or random pixels for the timm peers), loaded in this
process, then, per thread count, timed round robin: a round calls every
loaded model once, starting one later each round, so drift on the machine
hits all alike. Reported per row: median batch-1 latency (ms), the ratio to
the row's PyTorch-eager fp32 and to its peer in the same runtime and
precision, file size (MB), and peak memory (the growth of the process's
peak resident set while the model is loaded and run three times, MB).
"""
import argparse
import functools
import importlib.util
import os
import os.path as osp
import platform
import statistics
import time
from typing import Dict, List, Optional

import torch
import torch.nn as nn

from mmvit.apis import build_model  # (+ the runtime fixes)
from mmvit.deployment import runtimes, switch_to_deploy, wrap_model
from mmvit.deployment.data import random_images
from mmvit.deployment.deploy import deploy_config
from mmvit.deployment.postprocess import to_data_samples
from mmvit.utils.cli import run_cli, save_json
from mmvit.utils.flops import NetworkForward

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO_ROOT, 'configs')
SIZE = 256
_DET = 'ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py'

# name -> (kind, source, peer row); kind: 'backbone' (source: an mmvit
# backbone cfg), 'timm' (a timm model name), or a task with a config file
MODELS = {
    'mobilevit-s': ('backbone', dict(type='mmvit.MobileViT', arch='small',
                                     out_indices=(5, )), 'timm-s'),
    'mobilevit-xs': ('backbone', dict(type='mmvit.MobileViT', arch='x_small',
                                      out_indices=(5, )), 'timm-xs'),
    'mobilevit-xxs': ('backbone', dict(type='mmvit.MobileViT',
                                       arch='xx_small', out_indices=(5, )),
                      'timm-xxs'),
    'mobilevitv2-050': ('backbone', dict(type='mmvit.MobileViTv2', arch='0.5',
                                         out_indices=(4, )), 'timm-v2-050'),
    'mobilevitv2-100': ('backbone', dict(type='mmvit.MobileViTv2', arch='1.0',
                                         out_indices=(4, )), 'timm-v2-100'),
    'timm-s': ('timm', 'mobilevit_s', None),
    'timm-xs': ('timm', 'mobilevit_xs', None),
    'timm-xxs': ('timm', 'mobilevit_xxs', None),
    'timm-v2-050': ('timm', 'mobilevitv2_050', None),
    'timm-v2-100': ('timm', 'mobilevitv2_100', None),
    # the demo's detector config (3 classes, 256 px); S: the same with the
    # S backbone's channels
    'ssdlite-xxs': ('detector', _DET, 'ssdlite-mnv2'),
    'ssdlite-s': ('detector', _DET, 'ssdlite-mnv2'),
    'ssdlite-mnv2': ('detector', 'peers/ssdlite_mobilenetv2_shapes.py', None),
    'deeplabv3-xxs': ('segmentor', 'deeplabv3_mobilevit/deeplabv3_mobilevit-'
                      'xxs-d16_1xb8-2e_shapes-256x256.py', None),
}
# config overrides of a row (SSDLite-S on the demo's data)
_OPTIONS = {
    'ssdlite-s': {
        'model.backbone.arch': 'small',
        'model.neck.in_channels': (128, 160),
        'model.bbox_head.in_channels': (128, 160, 512, 256, 256, 128),
    }
}
_CFG_FREE = ('backbone', 'timm')
# (runtime, precision) rows; PyTorch's own two first
ROWS = (('pytorch', 'eager'), ('pytorch', 'deploy'), ('onnxruntime', 'fp32'),
        ('onnxruntime', 'int8'), ('openvino', 'fp32'), ('openvino', 'bf16'),
        ('openvino', 'int8'), ('executorch', 'fp32'), ('executorch', 'int8'))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--models', nargs='+', default=list(MODELS),
                        choices=list(MODELS))
    parser.add_argument('--runtimes', nargs='+',
                        default=['pytorch'] + list(runtimes.RUNTIMES),
                        choices=['pytorch'] + list(runtimes.RUNTIMES))
    parser.add_argument('--precisions', nargs='+',
                        default=['eager', 'deploy', 'fp32', 'bf16', 'int8'],
                        choices=['eager', 'deploy', 'fp32', 'bf16', 'int8'])
    parser.add_argument('--threads', nargs='+', type=int, default=[1, 2])
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--calib', type=int, default=32)
    parser.add_argument('--work-dir', default='work_dirs/benchmark_deploy')
    parser.add_argument('--checkpoint', nargs='+', default=[],
                        metavar='NAME=PATH', help='trained weights of a row')
    parser.add_argument('--out', help='write the results to this JSON')
    parser.add_argument('--markdown', action='store_true')
    args = parser.parse_args(argv)
    args.checkpoints = {}
    for item in args.checkpoint:
        name, _, path = item.partition('=')
        if name not in MODELS or not path:
            parser.error(f'--checkpoint wants NAME=PATH with NAME one of '
                         f'{", ".join(MODELS)}, got {item!r}')
        if not osp.isfile(path):
            parser.error(f'checkpoint not found: {path}')
        args.checkpoints[name] = path
    return args


# ----------------------------------------------------------------- models
@functools.lru_cache(maxsize=None)
def _config(name: str, work_dir: str) -> str:
    """The config file of row ``name`` (with its overrides), written once
    into ``work_dir``."""
    from mmvit.apis import load_config
    cfg = load_config(osp.join(CONFIGS, MODELS[name][1]))
    cfg.merge_from_dict(_OPTIONS.get(name, {}))
    path = osp.join(work_dir, 'configs', f'{name}.py')
    os.makedirs(osp.dirname(path), exist_ok=True)
    cfg.dump(path)
    return path


def _plain_module(name: str) -> nn.Module:
    """A backbone or timm row as an export wrapper (no preprocessing)."""
    kind, source, _ = MODELS[name]
    if kind == 'timm':
        import timm
        model = timm.create_model(source, pretrained=False, num_classes=0)
        return NetworkForward(model.eval(), 'forward_features')
    from mmengine.registry import MODELS as REGISTRY
    return wrap_model(REGISTRY.build(source).eval(), 'backbone', (SIZE, SIZE))


def _pytorch_module(name: str, deploy: bool, args):
    kind = MODELS[name][0]
    if kind in _CFG_FREE:
        module = _plain_module(name)
    else:
        model = build_model(
            _config(name, args.work_dir), args.checkpoints.get(name))
        module = wrap_model(model, kind, (SIZE, SIZE))
    # deploy: mmvit's fast PyTorch path (BN folded, NHWC); a peer's is BN
    # folded the same way (switch_to_deploy folds any conv + BN pair)
    return switch_to_deploy(module, channels_last=True) if deploy else module


def _export(name: str, runtime: str, precision: str, args) -> str:
    module = runtimes.get_runtime(runtime)
    path = osp.join(args.work_dir, f'{name}_{runtime}_{precision}'
                    f'{module.SUFFIX}')
    if osp.exists(path):
        return path
    kind = MODELS[name][0]
    start = time.time()
    if kind in _CFG_FREE:
        runtimes.check(runtime, precision)
        wrapper = switch_to_deploy(_plain_module(name))
        module.export(wrapper, path, (SIZE, SIZE), precision,
                      random_images(args.calib, (SIZE, SIZE)))
    else:
        deploy_config(_config(name, args.work_dir), path, runtime,
                      (SIZE, SIZE),
                      precision=precision, calib=args.calib,
                      checkpoint=args.checkpoints.get(name))
    print(f'exported {osp.basename(path)} in {time.time() - start:.0f} s',
          flush=True)
    return path


class Row:
    """One model on one runtime and precision, ready to time."""

    def __init__(self, name, runtime, precision, run, size_bytes,
                 peak_mb) -> None:
        self.name, self.runtime, self.precision = name, runtime, precision
        self.run, self.bytes, self.peak_mb = run, size_bytes, peak_mb
        self.times: Dict[int, List[float]] = {}


def _peak_kb() -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # resets VmHWM to the current resident set
        return True
    except OSError:
        return False


def _end_to_end(name, outputs_fn, model):
    """Detectors: the runtime's outputs through the host post-processing."""
    kind = MODELS[name][0]
    if kind != 'detector':
        return outputs_fn
    from mmdet.structures import DetDataSample
    level_sizes = wrap_model(model, 'detector', (SIZE, SIZE)).level_sizes
    meta = dict(img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE),
                scale_factor=(1., 1.))

    def run(images):
        samples = [DetDataSample(metainfo=meta)]
        return to_data_samples('detector', model, outputs_fn(images),
                               samples, level_sizes)

    return run


def load_row(name, runtime, precision, threads, args) -> Optional[Row]:
    # detectors: the config's model runs the host post-processing
    model = build_model(_config(name, args.work_dir)) if MODELS[name][
        0] == 'detector' else None
    images = torch.rand(1, 3, SIZE, SIZE) * 255
    if runtime == 'pytorch':
        size = 0
        _reset_peak()
        base = _peak_kb()
        module = _pytorch_module(name, precision == 'deploy', args)

        def outputs_fn(x):
            with torch.inference_mode():
                out = module(x)
            return out if isinstance(out, tuple) else (out, )
    else:
        try:
            runtimes.check(runtime, precision)
        except ValueError as err:
            print(f'skipped {name} {runtime} {precision}: {err}')
            return None
        path = _export(name, runtime, precision, args)
        size = runtimes.file_size(path)
        _reset_peak()
        base = _peak_kb()
        outputs_fn = runtimes.load(path, num_threads=threads)
    run = _end_to_end(name, outputs_fn, model)
    for _ in range(3):
        run(images)
    peak = (_peak_kb() - base) / 1024
    return Row(name, runtime, precision, lambda: run(images), size, peak)


def _set_threads(rows: List[Row], threads: int) -> None:
    """The process-wide thread counts (PyTorch, XNNPACK's pool); the
    onnxruntime / OpenVINO sessions were loaded with ``threads``."""
    torch.set_num_threads(threads)
    if any(r.runtime == 'executorch' for r in rows):
        runtimes.get_runtime('executorch').set_num_threads(threads)


def time_rows(rows: List[Row], threads: int, args) -> None:
    for _ in range(args.warmup):
        for row in rows:
            row.run()
    for row in rows:
        row.times[threads] = []
    for r in range(args.repeats):
        shift = r % len(rows)
        for row in rows[shift:] + rows[:shift]:
            start = time.perf_counter()
            row.run()
            row.times[threads].append(time.perf_counter() - start)


# ---------------------------------------------------------------- report
def summarize(rows: List[Row], threads: List[int]) -> List[dict]:
    median = {(r.name, r.runtime, r.precision, t):
              statistics.median(r.times[t]) * 1e3
              for r in rows for t in threads}
    out = []
    for row in rows:
        entry = dict(model=row.name, runtime=row.runtime,
                     precision=row.precision, size_mb=row.bytes / 2**20,
                     peak_mb=row.peak_mb)
        peer = MODELS[row.name][2]
        for t in threads:
            ms = median[row.name, row.runtime, row.precision, t]
            entry[f'ms_{t}t'] = ms
            eager = median.get((row.name, 'pytorch', 'eager', t))
            entry[f'vs_eager_{t}t'] = ms / eager if eager else None
            other = median.get((peer, row.runtime, row.precision, t))
            entry[f'vs_peer_{t}t'] = ms / other if other else None
        out.append(entry)
    return out


def format_table(results: List[dict], threads: List[int],
                 markdown: bool) -> str:
    head = ['model', 'runtime', 'precision']
    for t in threads:
        head += [f'{t}t ms', f'{t}t /eager', f'{t}t /peer']
    head += ['file MB', 'peak MB']
    lines = [head]
    for e in results:
        cells = [e['model'], e['runtime'], e['precision']]
        for t in threads:
            cells += [f'{e[f"ms_{t}t"]:.2f}'] + [
                '' if e[k] is None else f'{e[k]:.2f}'
                for k in (f'vs_eager_{t}t', f'vs_peer_{t}t')
            ]
        cells += [f'{e["size_mb"]:.1f}' if e['size_mb'] else '',
                  f'{e["peak_mb"]:.0f}']
        lines.append(cells)
    if markdown:
        text = ['| ' + ' | '.join(row) + ' |' for row in lines]
        text.insert(1, '|' + '---|' * len(head))
        return '\n'.join(text)
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    return '\n'.join('  '.join(c.ljust(w) for c, w in zip(r, widths))
                     for r in lines)


def _cpu() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            flags = ''
            model = platform.machine()
            for line in f:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                if line.startswith('flags'):
                    flags = line
            extras = [x for x in ('avx512f', 'avx512_vnni', 'avx512_bf16',
                                  'amx_tile') if f' {x}' in flags]
            return f'{model} ({", ".join(extras) or "no AVX-512"})'
    except OSError:
        return platform.machine()


def main(argv=None) -> dict:
    args = parse_args(argv)
    os.makedirs(args.work_dir, exist_ok=True)
    # glibc keeps freed memory (no page-fault artifacts, as benchmark.py)
    spec = importlib.util.spec_from_file_location(
        'mmvit_benchmark', osp.join(osp.dirname(__file__), 'benchmark.py'))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.keep_freed_memory()
    names = list(args.models)
    for name in list(names):  # the peers of the rows asked for
        peer = MODELS[name][2]
        if peer is not None and peer not in names:
            names.append(peer)
    results = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        rows = []
        for name in names:
            for runtime, precision in ROWS:
                if runtime in args.runtimes and precision in args.precisions:
                    row = load_row(name, runtime, precision, threads,
                                   args)
                    if row is not None:
                        rows.append(row)
        _set_threads(rows, threads)
        time_rows(rows, threads, args)
        results.append((threads, rows))
    threads = sorted(t for t, _ in results)
    merged = {}
    for t, rows in results:
        for row in rows:
            key = (row.name, row.runtime, row.precision)
            merged.setdefault(key, row).times[t] = row.times[t]
    table = summarize(list(merged.values()), threads)
    report = dict(cpu=_cpu(), torch=torch.__version__, size=SIZE,
                  repeats=args.repeats, threads=threads, rows=table,
                  checkpoints=args.checkpoints)
    print(f'\n{report["cpu"]}, batch 1, {SIZE}x{SIZE}, median of '
          f'{args.repeats} interleaved calls')
    print(format_table(table, threads, args.markdown))
    save_json(report, args.out)
    return report


if __name__ == '__main__':
    run_cli(main)
