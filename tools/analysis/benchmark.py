"""CPU inference benchmark of mmvit against timm, mmpretrain and mmdet.

    python tools/analysis/benchmark.py [--groups backbone detector segmentor]
        [--archs small x_small xx_small] [--threads N] [--no-deploy]
        [--no-peers] [--channels-last] [--compile] [--markdown]
        [--out results.json]

What is compared. Every model runs in this one process, under the same
thread count and ``torch.inference_mode()``, with random weights (nothing is
downloaded). The rows are derived from the backbone families' records
(:data:`mmvit.models.backbones.families.FAMILIES`: an mmvit backbone type,
its arch keys and its variants' names in timm, mmpretrain and the configs)
and :data:`CONFIG_GROUPS`; the groups are named as the tasks of
:data:`mmvit.apis.TASKS`, and one timed call is:

- ``backbone``, 3x256x256: the feature map before global pooling, the same
  ``[B, C, 8, 8]`` tensor for every model of an arch: mmvit's backbone with
  the family's ``out_indices`` (MobileViT: the 1x1 expansion layer), timm's
  ``forward_features`` and mmpretrain's backbone (whose default output
  includes the expansion layer). Classifier heads are left out: they are the
  same linear layer everywhere.
- ``detector``, 3x320x320 uint8 images: ``model.test_step``, i.e. data
  preprocessor, forward, box decoding, NMS and rescaling to a 480x640
  original image, of mmvit's SSDLite configs and of mmdet's own
  ``ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py``. All detectors use the
  same ``test_cfg`` (:data:`DET_TEST_CFG`): with random weights the number
  of boxes above a score threshold is arbitrary, so ``score_thr=0`` makes
  every model send its full ``nms_pre`` candidates per level to NMS (the
  heavy case; how long NMS and the score sorts take still depends on the
  random scores, so compare detector networks by FLOPs and the backbone
  group).
- ``segmentor``, 3x512x512 uint8 images: ``model.test_step`` of mmvit's
  DeepLabv3 configs (preprocess, forward, upsampling, argmax). There is no
  peer: mmseg ships DeepLabv3 on MobileNetV2 only dilated to output stride
  8 with a 512-channel ASPP, a much heavier model than these at stride 16.

Each mmvit model is measured as built (``eager``) and after
``mmvit.deployment.switch_to_deploy(model, channels_last=True)``
(``deploy``, mmvit's fast inference path: BatchNorm folded into the convs,
NHWC weights; its params and FLOPs are those of the folded model); both are
compared with the peers as users run them (eager, NCHW), and deploy with
eager. ``--channels-last`` and ``--compile`` apply to every model of a run,
peers included, for a like-for-like view (``--compile`` compiles the
network modules, not pre- and post-processing, and adds the compilation
before the warm-up).

How. Per batch size, ``--warmup`` untimed rounds, then timed rounds; a round
calls every model of the group once, starting one model later each round
(round robin), so load drift on the machine hits all models alike, and
ratios are only taken between models timed in the same rounds of this
process. Reported: median latency at batch 1 (with the interquartile range),
throughput at ``--batch`` (images/s, median), params, FLOPs at batch 1 and
the achieved rate. FLOPs are multiply-adds of the network forward
(mmengine's convention and that of the OpenMMLab model zoos, attention
included, pre- and post-processing not), counted by
:func:`mmvit.utils.flops.count_flops`; "GFLOP/s" is in the same unit
(double it for hardware FLOP/s). Ratios are mmvit time / peer time (below
1: mmvit is faster); at ``--batch`` they are ratios of time per image.

Memory. All models share this process's allocator, and glibc's by default
hands big buffers back to the system and maps them afresh: a model then
pays a page fault per touched 4 KiB page on every call, or not, depending
on the other models' buffer sizes (measured: the same model at 0 or 6,000
faults per call, 20 % of its latency). The benchmark therefore tells glibc
to keep freed memory (``mallopt``, where it is glibc) so that every model
runs from reused buffers, and reports the page faults per timed call
(``faults``, median) to show it.

Defaults: 2 warm-up and 10 timed rounds at batch 1, 1 and 2 at the
throughput batch; batch 32 for the backbone and the detector (issue #6), 8
for the segmentor (``--seg-batch``; ``--seg-batch 32`` is the issue's
setting, a much longer run). ``--groups``, ``--archs`` and
``--batch-repeats 1`` cut the run; ``--quick`` (one round, batch 2) is
for the tests. README.md's benchmark section holds measured tables.
"""
import argparse
import ctypes
import ctypes.util
import functools
import os
import os.path as osp
import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from mmvit.apis import TASKS, build_model  # (+ the runtime fixes)
from mmvit.deployment import switch_to_deploy
from mmvit.models.backbones.families import arch_keys, family_of_arch
from mmvit.utils.cli import run_cli, save_json
from mmvit.utils.flops import NetworkForward, count_flops

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(REPO_ROOT, 'configs')

# ------------------------------------------------------------------ tables

# One image side per group; 'classifier' has no group: its head is the same
# linear layer in every library, so the backbone group compares the rest.
INPUT_SIZE = {'backbone': 256, 'detector': 320, 'segmentor': 512}
GROUPS = tuple(task for task in TASKS if task in INPUT_SIZE)

# One test_cfg for every detector; see the module docstring.
DET_TEST_CFG = dict(
    nms_pre=1000,
    nms=dict(type='nms', iou_threshold=0.5),
    min_bbox_size=0,
    score_thr=0.0,
    max_per_img=200)
DET_ORI_SHAPE = (480, 640)  # a typical COCO image, resized to 320x320
# Issue #6: eager mmvit backbones at batch 1 take at most this fraction of
# the latency of timm's and mmpretrain's same-arch models.
BACKBONE_GOAL = 0.7


@dataclass(frozen=True)
class PeerConfig:
    """A peer model from a config that a toolbox ships.

    Args:
        name (str): Row label.
        package (str): The toolbox (``'mmdet'``): the row's kind, and where
            the config lies (the package's ``.mim/configs``).
        config (str): The config's path under that folder.
    """
    name: str
    package: str
    config: str

    def path(self) -> str:
        package = __import__(self.package)
        return osp.join(
            osp.dirname(package.__file__), '.mim', 'configs', self.config)


@dataclass(frozen=True)
class ConfigGroup:
    """A group whose models are built from configs and timed by their
    ``test_step``.

    Args:
        algorithm (str): Row label prefix, ``'mmvit {algorithm}-{name}'``.
        networks (tuple[str]): The submodules that make the network (what
            ``--compile`` compiles), without pre- and post-processing.
        make_inputs (callable): ``make_inputs(size)`` gives ``make(batch)``,
            the ``test_step`` data of a batch of ``size`` x ``size`` images.
        test_cfg (dict, optional): Replaces every model's ``test_cfg``.
            Defaults to None (the configs' own).
        peers (tuple[PeerConfig]): Compared with every arch. Defaults to
            none.
    """
    algorithm: str
    networks: Tuple[str, ...]
    make_inputs: Callable[[int], Callable[[int], dict]]
    test_cfg: Optional[dict] = None
    peers: Tuple[PeerConfig, ...] = ()


def _det_inputs(size: int):
    from mmdet.structures import DetDataSample

    def make(batch: int) -> dict:
        scale = (size / DET_ORI_SHAPE[1], size / DET_ORI_SHAPE[0])
        samples = [
            DetDataSample(
                metainfo=dict(
                    img_shape=(size, size),
                    ori_shape=DET_ORI_SHAPE,
                    scale_factor=scale)) for _ in range(batch)
        ]
        return dict(inputs=_uint8_images(batch, size), data_samples=samples)

    return make


def _seg_inputs(size: int):
    from mmseg.structures import SegDataSample

    def make(batch: int) -> dict:
        shape = (size, size)
        samples = [
            SegDataSample(
                metainfo=dict(
                    img_shape=shape,
                    ori_shape=shape,
                    pad_shape=shape,
                    padding_size=[0, 0, 0, 0])) for _ in range(batch)
        ]
        return dict(inputs=_uint8_images(batch, size), data_samples=samples)

    return make


def _uint8_images(batch: int, size: int) -> List[torch.Tensor]:
    return [
        torch.randint(0, 256, (3, size, size), dtype=torch.uint8)
        for _ in range(batch)
    ]


CONFIG_GROUPS = {
    'detector':
    ConfigGroup(
        algorithm='SSDLite',
        networks=('backbone', 'neck', 'bbox_head'),
        make_inputs=_det_inputs,
        test_cfg=DET_TEST_CFG,
        peers=(PeerConfig(
            'mmdet SSDLite-MobileNetV2', 'mmdet',
            'ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'), )),
    'segmentor':
    ConfigGroup(
        algorithm='DeepLabv3',
        networks=('backbone', 'decode_head'),
        make_inputs=_seg_inputs),
}


@dataclass
class Case:
    """One benchmarked model.

    Args:
        group (str): One of :data:`GROUPS`.
        name (str): Row label.
        kind (str): ``'eager'`` or ``'deploy'`` (mmvit), or the peer's
            library (``'timm'``, ``'mmpretrain'``, ``'mmdet'``).
        arch (str, optional): mmvit arch the row belongs to; None for a peer
            compared with every arch.
        run (callable): ``run(inputs)``: one timed call.
        make_inputs (callable): ``make_inputs(batch)``: its inputs.
        params (int): Parameters of the model as run.
        flops (int): Multiply-adds of one image (network forward).
        times (dict): Batch size -> wall times in seconds, filled by
            :func:`time_round_robin`.
        faults (dict): Batch size -> minor page faults of each timed call.
    """
    group: str
    name: str
    kind: str
    arch: Optional[str]
    run: Callable[[Any], Any]
    make_inputs: Callable[[int], Any]
    params: int
    flops: int
    times: Dict[int, List[float]] = field(default_factory=dict)
    faults: Dict[int, List[int]] = field(default_factory=dict)

    @property
    def is_mmvit(self) -> bool:
        return self.kind in ('eager', 'deploy')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument(
        '--groups', nargs='+', choices=GROUPS, default=list(GROUPS))
    parser.add_argument(
        '--archs',
        nargs='+',
        choices=arch_keys(),
        default=list(arch_keys()),
        help='the archs of the registered backbone families')
    parser.add_argument(
        '--threads',
        type=int,
        default=os.cpu_count(),
        help='torch.set_num_threads for every model')
    parser.add_argument(
        '--repeats', type=int, default=10, help='timed rounds at batch 1')
    parser.add_argument(
        '--warmup', type=int, default=2, help='untimed rounds at batch 1')
    parser.add_argument(
        '--batch',
        type=int,
        default=32,
        help='throughput batch of the backbone and the detector')
    parser.add_argument(
        '--seg-batch',
        type=int,
        default=8,
        help='throughput batch of the segmentor (see the module docstring)')
    parser.add_argument(
        '--batch-repeats',
        type=int,
        default=2,
        help='timed rounds at the throughput batch')
    parser.add_argument(
        '--batch-warmup',
        type=int,
        default=1,
        help='untimed rounds at the throughput batch')
    parser.add_argument(
        '--no-deploy',
        dest='deploy',
        action='store_false',
        help='skip the deploy (BN-folded) rows of mmvit')
    parser.add_argument(
        '--no-peers',
        dest='peers',
        action='store_false',
        help='mmvit only (no timm / mmpretrain / mmdet rows)')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='channels-last weights and inputs for every model')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='torch.compile the network of every model')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='smoke run: 1 round at batch 1, 1 at batch 2, no warm-up')
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument(
        '--markdown',
        action='store_true',
        help='print README-ready markdown tables')
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.warmup = 1, 0
        args.batch = args.seg_batch = 2
        args.batch_repeats, args.batch_warmup = 1, 0
    for name in ('threads', 'repeats', 'batch', 'seg_batch', 'batch_repeats'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be at least 1')
    return args


# --------------------------------------------------------------- building


def num_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _build_module(cfg: dict) -> nn.Module:
    """A registered module from its config (``type`` with its scope, e.g.
    ``'mmvit.MobileViT'``), in eval mode."""
    from mmengine.registry import MODELS
    model = MODELS.build(cfg)
    model.eval()  # not chained: mmpretrain's MobileViT.train() returns None
    return model


def _build_config(path: str, test_cfg: Optional[dict] = None) -> nn.Module:
    """The model of a config with random weights (its initializers run, no
    pretrained checkpoint read), in eval mode, SyncBN -> BN, ``test_cfg``
    replacing the config's when given."""
    options = {'model.backbone.init_cfg': None}
    if test_cfg is not None:
        options['model.test_cfg'] = dict(test_cfg, _delete_=True)
    return build_model(path, cfg_options=options, init_weights=True)


def _prepare(model: nn.Module, args, networks: Sequence[str] = ()):
    """Apply ``--channels-last`` and ``--compile`` (to ``model`` itself, or
    to the named submodules: the network without pre/post-processing)."""
    if args.channels_last:
        model.to(memory_format=torch.channels_last)
    if args.compile:
        for module in ([getattr(model, n) for n in networks] or [model]):
            module.compile()
    return model


def _image_batch(size: int, channels_last: bool):

    def make(batch: int) -> torch.Tensor:
        x = torch.rand(batch, 3, size, size)
        return x.contiguous(memory_format=torch.channels_last) \
            if channels_last else x

    return make


def _case(group: str, name: str, kind: str, arch: Optional[str],
          model: nn.Module, args) -> Case:
    """The row of ``model``: params and FLOPs of the model as built (before
    ``--channels-last`` and ``--compile``), then the timed call: the module
    itself in the backbone group, ``model.test_step`` in a config group."""
    size = INPUT_SIZE[group]
    spec = CONFIG_GROUPS.get(group)
    network = model if spec is None else NetworkForward(model)
    flops = count_flops(network, (torch.rand(1, 3, size, size), ))
    params = num_params(model)
    if spec is None:
        run = _prepare(model, args)
        make_inputs = _image_batch(size, args.channels_last)
    else:
        run = _prepare(model, args, spec.networks).test_step
        make_inputs = spec.make_inputs(size)
    return Case(group, name, kind, arch, run, make_inputs, params, flops)


def _mmvit_cases(group: str, name: str, arch: str,
                 build: Callable[[], nn.Module], args) -> List[Case]:
    """``'mmvit {name}'`` as built and, unless ``--no-deploy``, its deploy
    twin, each from a fresh ``build()``."""
    cases = [_case(group, f'mmvit {name}', 'eager', arch, build(), args)]
    if args.deploy:
        # mmvit's fast path: BN folded and NHWC weights (oneDNN's NHWC
        # depthwise and 1x1 kernels), whatever --channels-last says for the
        # other rows
        deployed = switch_to_deploy(build(), channels_last=True)
        cases.append(
            _case(group, f'mmvit {name} deploy', 'deploy', arch, deployed,
                  args))
    return cases


def backbone_cases(arch: str, args) -> List[Case]:
    """mmvit's backbone of ``arch`` (eager, deploy) with the family's
    ``feature_out_indices`` (the map before global pooling), timm's and
    mmpretrain's, where they have the arch."""
    family = family_of_arch(arch)
    name = family.display_name(arch)
    backbone = dict(
        type=f'mmvit.{family.name}',
        arch=arch,
        out_indices=family.feature_out_indices)
    cases = _mmvit_cases('backbone', name, arch,
                         lambda: _build_module(dict(backbone)), args)
    if args.peers and family.timm_name is not None:
        import timm

        # num_classes=0: no classifier, so params count the same layers
        timm_name = family.timm_name(arch)
        timm_model = timm.create_model(
            timm_name, pretrained=False, num_classes=0).eval()
        cases.append(
            _case('backbone', f'timm {timm_name}', 'timm', arch,
                  NetworkForward(timm_model, 'forward_features'), args))
    if args.peers and family.mmpretrain_type is not None:
        model = _build_module(dict(type=family.mmpretrain_type, arch=arch))
        cases.append(
            _case('backbone', f'mmpretrain {name}', 'mmpretrain', arch,
                  model, args))
    return cases


def config_cases(group: str, archs: Sequence[str], args) -> List[Case]:
    """The models of a config group (:data:`CONFIG_GROUPS`): mmvit's config
    of every arch (eager, deploy), then the group's peers."""
    spec = CONFIG_GROUPS[group]
    cases = []
    for arch in archs:
        family = family_of_arch(arch)
        if group not in family.configs:
            continue
        path = osp.join(CONFIG_DIR, family.configs[group](arch))
        if not osp.isfile(path):  # no config of this group for this arch
            continue
        cases += _mmvit_cases(
            group, f'{spec.algorithm}-{family.display_name(arch)}', arch,
            functools.partial(_build_config, path, spec.test_cfg), args)
    if args.peers:
        for peer in spec.peers:
            model = _build_config(peer.path(), spec.test_cfg)
            cases.append(
                _case(group, peer.name, peer.package, None, model, args))
    return cases


def build_cases(group: str, args) -> List[Case]:
    if group in CONFIG_GROUPS:
        return config_cases(group, args.archs, args)
    return [case for arch in args.archs for case in backbone_cases(arch, args)]


# ---------------------------------------------------------------- timing


def time_round_robin(cases: Sequence[Case], batch: int, warmup: int,
                     repeats: int) -> None:
    """Fill ``case.times[batch]`` with ``repeats`` wall times per case,
    the cases interleaved and the starting case rotated every round."""
    inputs = [case.make_inputs(batch) for case in cases]
    order = list(range(len(cases)))
    with torch.inference_mode():
        for _ in range(warmup):
            for i in order:
                cases[i].run(inputs[i])
        for case in cases:
            case.times[batch] = []
            case.faults[batch] = []
        for r in range(repeats):
            shift = r % len(cases)
            for i in order[shift:] + order[:shift]:
                faults = _minor_faults()
                start = time.perf_counter()
                cases[i].run(inputs[i])
                cases[i].times[batch].append(time.perf_counter() - start)
                cases[i].faults[batch].append(_minor_faults() - faults)


def _minor_faults() -> int:
    """Minor page faults of this process so far (0 where unknown)."""
    try:
        import resource
    except ImportError:  # not a Unix
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def keep_freed_memory() -> bool:
    """Tell glibc's allocator to keep freed memory for reuse instead of
    returning it to the system (see the module docstring); returns whether
    it could (False on another C library)."""
    name = ctypes.util.find_library('c')
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's malloc.h
    # the largest mmap threshold glibc takes (HEAP_MAX_SIZE / 2 on 64-bit);
    # any buffer below it comes from the reused heap
    return bool(
        mallopt(m_mmap_threshold, 32 * 1024 * 1024)
        and mallopt(m_trim_threshold, 2**31 - 1))


def _quartiles(values: List[float]):
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, median, q3 = statistics.quantiles(values, n=4, method='inclusive')
    return q1, median, q3


def _named(case: Case, **values) -> dict:
    """A row or ratio of ``case``: its group, model and kind, then
    ``values``."""
    return dict(group=case.group, model=case.name, kind=case.kind, **values)


def summarize(cases: Sequence[Case], batch_of: Dict[str, int]) -> dict:
    """Rows and ratios of the measured ``cases`` (plain, JSON-ready)."""
    rows = []
    for case in cases:
        q1, median, q3 = _quartiles(case.times[1])
        batch = batch_of[case.group]
        batch_time = statistics.median(case.times[batch])
        rows.append(
            _named(
                case,
                arch=case.arch,
                input_size=INPUT_SIZE[case.group],
                params_m=case.params / 1e6,
                flops_g=case.flops / 1e9,
                latency_ms=median * 1e3,
                latency_q1_ms=q1 * 1e3,
                latency_q3_ms=q3 * 1e3,
                gflops_per_s=case.flops / 1e9 / median,
                faults=statistics.median(case.faults[1]),
                batch=batch,
                batch_time_s=batch_time,
                throughput=batch / batch_time,
                batch_gflops_per_s=case.flops / 1e9 * batch / batch_time))
    by_name = {row['model']: row for row in rows}
    ratios = []
    for case in cases:
        if not case.is_mmvit:
            continue
        peers = [
            other for other in cases if other.group == case.group and (
                (not other.is_mmvit and other.arch in (None, case.arch)) or
                (case.kind == 'deploy' and other.kind == 'eager'
                 and other.arch == case.arch))
        ]
        row = by_name[case.name]
        for peer in peers:
            peer_row = by_name[peer.name]
            ratios.append(
                _named(
                    case,
                    peer=peer.name,
                    peer_kind=peer.kind,
                    latency_ratio=row['latency_ms'] / peer_row['latency_ms'],
                    batch=row['batch'],
                    batch_ratio=peer_row['throughput'] / row['throughput']))
    return dict(rows=rows, ratios=ratios)


# ---------------------------------------------------------------- output


def environment(args) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {'torch': torch.__version__}
    for name in ('mmengine', 'timm', 'mmpretrain', 'mmdet', 'mmseg'):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = None
    return dict(
        cpu=cpu,
        cpu_count=os.cpu_count(),
        freed_memory_kept=args.freed_memory_kept,
        threads=torch.get_num_threads(),
        versions=versions,
        deploy=args.deploy,
        channels_last=args.channels_last,
        compile=args.compile,
        repeats=args.repeats,
        warmup=args.warmup,
        batch_repeats=args.batch_repeats,
        batch_warmup=args.batch_warmup,
        det_test_cfg=DET_TEST_CFG)


def format_tables(results: dict, markdown: bool) -> str:
    """The rows and the ratios as text (aligned, or markdown) tables."""
    row_header = [
        'Model', 'Input', 'Params (M)', 'FLOPs (G)', 'b1 latency ms',
        'b1 IQR ms', 'b1 GFLOP/s', 'b1 faults', 'Batch', 'img/s',
        'batch GFLOP/s'
    ]
    row_cells = [[
        r['model'], f'{r["input_size"]}', f'{r["params_m"]:.3f}',
        f'{r["flops_g"]:.3f}', f'{r["latency_ms"]:.1f}',
        f'{r["latency_q1_ms"]:.1f}-{r["latency_q3_ms"]:.1f}',
        f'{r["gflops_per_s"]:.1f}', f'{r["faults"]:.0f}', f'{r["batch"]}',
        f'{r["throughput"]:.1f}',
        f'{r["batch_gflops_per_s"]:.1f}'
    ] for r in results['rows']]
    ratio_header = [
        'Model', 'vs', 'b1 latency ratio', 'Batch', 'time/img ratio'
    ]
    ratio_cells = [[
        r['model'], r['peer'], f'{r["latency_ratio"]:.2f}', f'{r["batch"]}',
        f'{r["batch_ratio"]:.2f}'
    ] for r in results['ratios']]
    parts = [_table(row_header, row_cells, markdown)]
    if ratio_cells:
        parts.append(_table(ratio_header, ratio_cells, markdown))
    return '\n\n'.join(parts)


def _table(header: List[str], cells: List[List[str]], markdown: bool) -> str:
    if markdown:
        lines = [
            '| ' + ' | '.join(header) + ' |',
            '|' + '|'.join(['---'] + ['---:'] * (len(header) - 1)) + '|'
        ]
        lines += ['| ' + ' | '.join(row) + ' |' for row in cells]
        return '\n'.join(lines)
    widths = [
        max(len(row[i]) for row in [header] + cells)
        for i in range(len(header))
    ]

    def line(row):
        return '  '.join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths)))

    return '\n'.join([line(header), '-' * len(line(header))] +
                     [line(row) for row in cells])


def goal_lines(results: dict) -> List[str]:
    """One line per eager mmvit backbone and peer: the batch-1 latency
    ratio against :data:`BACKBONE_GOAL`."""
    lines = []
    for ratio in results['ratios']:
        if (ratio['group'] == 'backbone'
                and ratio['kind'] in ('eager', 'deploy')
                and ratio['peer_kind'] in ('timm', 'mmpretrain')):
            verdict = ('meets' if ratio['latency_ratio'] <= BACKBONE_GOAL else
                       'misses')
            lines.append(f'{ratio["model"]} vs {ratio["peer"]}: '
                         f'{ratio["latency_ratio"]:.2f}x at batch 1, '
                         f'{verdict} the {BACKBONE_GOAL}x goal')
    return lines


def main(argv=None) -> dict:
    args = parse_args(argv)
    args.freed_memory_kept = keep_freed_memory()
    torch.set_num_threads(args.threads)
    env = environment(args)
    print(f'torch {torch.__version__}, {env["threads"]} threads, '
          f'{env["cpu"]} ({env["cpu_count"]} logical CPUs)')
    batch_of = dict(
        backbone=args.batch, detector=args.batch, segmentor=args.seg_batch)
    started = time.perf_counter()
    results = dict(environment=env, rows=[], ratios=[])
    for group in args.groups:
        cases = build_cases(group, args)
        print(
            f'{group}: {len(cases)} models, batch 1 x {args.repeats} '
            f'rounds, batch {batch_of[group]} x {args.batch_repeats} '
            f'rounds',
            flush=True)
        time_round_robin(cases, 1, args.warmup, args.repeats)
        if batch_of[group] > 1:
            time_round_robin(cases, batch_of[group], args.batch_warmup,
                             args.batch_repeats)
        summary = summarize(cases, batch_of)
        results['rows'] += summary['rows']
        results['ratios'] += summary['ratios']
        del cases
    results['environment']['seconds'] = time.perf_counter() - started
    print()
    print(format_tables(results, args.markdown))
    goals = goal_lines(results)
    if goals:
        print('\n' + '\n'.join(goals))
    save_json(results, args.out)
    print(f'\n{results["environment"]["seconds"]:.0f} s')
    return results


if __name__ == '__main__':
    run_cli(main)
