"""How the tools load configs and build runners, and how mmengine's
distributed launch is made to run on CPU-only machines too.

mmengine's ``pytorch`` launcher pins each process to a CUDA device and wraps
the model with ``device_ids=[LOCAL_RANK]``, the configs ask for NCCL (through
mmdet's / mmseg's ``default_runtime``) and the paper configs for SyncBN; none
of that works without a GPU. With GPUs these functions change nothing; without
them the run goes on CPU, and when the config or the environment expected
GPUs one warning says so, what was changed and how to get the GPUs back.
"""
import os
import os.path as osp
import warnings
from typing import List

import torch
import torch.distributed as torch_dist
from mmengine.config import Config


class GPUExpectationWarning(UserWarning):
    """A run that expected GPUs goes on CPU."""


def _cpu_only(cfg: Config) -> bool:
    return (cfg.get('launcher', 'none') != 'none'
            and not torch.cuda.is_available())


def _uses_syncbn(node) -> bool:
    if isinstance(node, dict):
        return node.get('type') in ('SyncBN', 'MMSyncBN') or any(
            _uses_syncbn(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return any(_uses_syncbn(v) for v in node)
    return False


def _syncbn_to_bn(node) -> None:
    """In place: every ``type='SyncBN'`` / ``'MMSyncBN'`` becomes ``'BN'``."""
    if isinstance(node, dict):
        if node.get('type') in ('SyncBN', 'MMSyncBN'):
            node['type'] = 'BN'
        for value in node.values():
            _syncbn_to_bn(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _syncbn_to_bn(value)


def _cuda_devices_asked_for() -> bool:
    """``CUDA_VISIBLE_DEVICES`` names devices ('' and '-1' hide them all,
    mmengine's documented way to train on CPU)."""
    value = os.environ.get('CUDA_VISIBLE_DEVICES')
    return value is not None and value.strip() not in ('', '-1')


def gpu_expectations(cfg: Config) -> List[str]:
    """What in ``cfg`` and the environment says the run was meant for GPUs:
    SyncBN in the model (or ``sync_bn``), an NCCL process group for a
    distributed launch, or a ``pytorch`` launch with ``CUDA_VISIBLE_DEVICES``
    naming devices. Empty when nothing does."""
    launcher = cfg.get('launcher', 'none')
    reasons = []
    if _uses_syncbn(cfg.get('model')) or cfg.get('sync_bn'):
        reasons.append('the model uses SyncBN')
    backend = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('backend')
    if launcher != 'none' and backend == 'nccl':
        reasons.append("env_cfg.dist_cfg.backend is 'nccl'")
    if launcher == 'pytorch' and _cuda_devices_asked_for():
        reasons.append('CUDA_VISIBLE_DEVICES='
                       f"{os.environ['CUDA_VISIBLE_DEVICES']!r} with "
                       '--launcher pytorch')
    return reasons


def _warn_once(message: str) -> None:
    # torchrun starts every rank with RANK set: one message per job
    if int(os.environ.get('RANK', '0')) == 0:
        warnings.warn(message, GPUExpectationWarning, stacklevel=3)


def prepare_distributed(cfg: Config) -> None:
    """Without a CUDA device, make ``cfg`` run on CPU: for a distributed
    launch gloo instead of NCCL, models wrapped without device ids and SyncBN
    replaced by BN (torch's SyncBN raises on CPU tensors in a multi-process
    run; one process reverts it in mmengine anyway). Warns once, naming the
    changes, when :func:`gpu_expectations` finds the run was meant for GPUs.
    With a CUDA device nothing changes (NCCL, SyncBN, device ids as
    configured)."""
    if torch.cuda.is_available():
        return
    reasons = gpu_expectations(cfg)
    changes = []
    if cfg.get('launcher', 'none') != 'none':
        dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
        backend = dist_cfg.get('backend')
        if backend != 'gloo':
            changes.append(f'process group {backend!r} -> gloo')
        dist_cfg['backend'] = 'gloo'
        wrapper = cfg.get('model_wrapper_cfg') or dict(
            type='MMDistributedDataParallel')
        wrapper.setdefault('device_ids', None)
        cfg.model_wrapper_cfg = wrapper
        if _uses_syncbn(cfg.get('model')):
            _syncbn_to_bn(cfg.model)
            changes.append('SyncBN -> BN (batch statistics per process, '
                           'not synchronised)')
        if cfg.get('sync_bn'):
            changes.append(f'sync_bn={cfg.sync_bn!r} dropped')
            cfg.sync_bn = None
    elif _uses_syncbn(cfg.get('model')):
        changes.append('SyncBN -> BN (mmengine reverts it for one process)')
    if not reasons:
        return
    _warn_once(_cpu_fallback_message(reasons, changes))


def _cpu_fallback_message(reasons: List[str], changes: List[str]) -> str:
    rule = '!' * 72
    lines = [
        rule,
        f"This run expects GPUs ({'; '.join(reasons)}) but "
        f'torch.cuda.is_available() is False (torch {torch.__version__}, '
        f'built for CUDA {torch.version.cuda}). It runs on CPU instead'
        + (f": {'; '.join(changes)}." if changes else '.'),
        'To train on GPUs: install a CUDA build of torch and an mmcv built '
        'for it, check that `nvidia-smi` lists the GPUs and that '
        'CUDA_VISIBLE_DEVICES (if set) names them.',
        'To run on CPU on purpose without this message: plain BN in the '
        'config, and for torchrun CUDA_VISIBLE_DEVICES=-1 and --cfg-options '
        'env_cfg.dist_cfg.backend=gloo.',
        rule,
    ]
    return '\n'.join([''] + lines)


def init_cpu_process_group(cfg: Config) -> None:
    """On a machine without GPUs, start the gloo process group from
    torchrun's environment before the runner would try to pick a CUDA
    device (the runner then uses this group)."""
    if (_cpu_only(cfg) and cfg.launcher == 'pytorch'
            and not torch_dist.is_initialized()):
        torch_dist.init_process_group(backend='gloo')


def load_config(path: str,
                launcher: str = 'none',
                cfg_options: dict = None,
                work_dir: str = None) -> Config:
    """A config as the tools run it: command-line options merged, the
    launcher set and ``work_dir`` defaulting to ``./work_dirs/<name>``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    cfg.launcher = launcher
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(path))[0])
    return cfg


def build_runner(cfg: Config):
    """The runner of ``cfg`` (``runner_type`` honoured), with the gloo
    process group started first on machines without GPUs."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    init_cpu_process_group(cfg)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)
