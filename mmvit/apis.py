"""What every tool does with a config: load it, build its model, build its
runner, and (without GPUs) make mmengine's distributed launch run on CPU.

* :func:`load_config`: a config as the tools run it (command-line options
  merged, launcher and ``work_dir`` set).
* :func:`build_model`: the model of a config under the config's
  ``default_scope`` (mmdet, mmseg, mmpretrain or mmengine's root), in eval
  mode, optionally with a checkpoint loaded strictly
  (:func:`load_weights`).
* :func:`build_runner`: the runner of a config, with the gloo process group
  started first on machines without GPUs.
* The CPU / gloo fallback: mmengine's ``pytorch`` launcher pins each process
  to a CUDA device and wraps the model with ``device_ids=[LOCAL_RANK]``, the
  configs ask for NCCL (through mmdet's / mmseg's ``default_runtime``) and
  the paper configs for SyncBN; none of that works without a GPU. With GPUs
  :func:`prepare_distributed` and :func:`init_cpu_process_group` change
  nothing; without them the run goes on CPU, and when the config or the
  environment expected GPUs one :class:`GPUExpectationWarning` says so, what
  was changed and how to get the GPUs back.

Importing it (as any ``mmvit`` module) applies :func:`mmvit.compat.apply`
through ``mmvit/__init__.py``, so a tool that imports it gets every runtime
fix, also for configs without mmvit ``custom_imports``.
"""
import copy
import logging
import os
import os.path as osp
import warnings
from typing import List, Optional, Union

import torch
import torch.distributed as torch_dist
import torch.nn as nn
from mmengine.config import Config


__all__ = [
    'TASKS', 'GPUExpectationWarning', 'build_model', 'build_runner',
    'gpu_expectations', 'model_task',
    'init_cpu_process_group', 'load_config', 'load_weights',
    'prepare_distributed'
]


# What a model (or a checkpoint) is for: the one vocabulary of every tool
# (ONNX export, the converters, the benchmark).
TASKS = ('backbone', 'classifier', 'detector', 'segmentor')


def model_task(model: nn.Module) -> str:
    """``'detector'``, ``'segmentor'``, ``'classifier'`` or ``'backbone'``
    from the parts a built model has."""
    if hasattr(model, 'bbox_head'):
        return 'detector'
    if hasattr(model, 'decode_head'):
        return 'segmentor'
    if hasattr(model, 'head') and hasattr(model, 'backbone'):
        return 'classifier'
    return 'backbone'


# ------------------------------------------------------------------ configs
def load_config(path: str,
                launcher: str = 'none',
                cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None) -> Config:
    """A config as the tools run it: command-line options merged, the
    launcher set and ``work_dir`` defaulting to ``./work_dirs/<name>``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
    """
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


# ------------------------------------------------------------------- models
def build_model(cfg_or_path: Union[str, Config],
                checkpoint: Optional[str] = None,
                device: Union[str, torch.device] = 'cpu',
                cfg_options: Optional[dict] = None,
                init_weights: bool = False) -> nn.Module:
    """The model of a config, in eval mode on ``device``.

    The model is built under the config's ``default_scope`` for this build
    only (no default scope is left behind; a config without one builds under
    the current scope, mmengine's root if none is set); mmengine imports the
    registered modules of that scope, and of ``mmvit`` for ``mmvit.*``
    types, and the config's ``custom_imports`` are imported. SyncBN is
    reverted to BN (there is no process group here). ``cfg_or_path`` is not
    modified.

    Args:
        cfg_or_path (str | Config): A config file or a loaded config.
        checkpoint (str, optional): A checkpoint loaded strictly into the
            model with mmengine's loader (:func:`load_weights`). Defaults to
            None (the weights as built).
        device (str | torch.device): Where the model goes. Defaults to
            ``'cpu'``.
        cfg_options (dict, optional): Overrides merged into a copy of the
            config, as ``--cfg-options`` does. Defaults to None.
        init_weights (bool): Run ``model.init_weights()`` (the config's
            ``init_cfg``s, which may read a pretrained checkpoint) with the
            per-parameter log quiet. Defaults to False: no file is read
            unless ``checkpoint`` is given.

    Raises:
        FileNotFoundError: The config or the checkpoint does not exist.
        ValueError: The checkpoint's weights do not fit the model.
    """
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import MODELS, DefaultScope
    from mmengine.utils import import_modules_from_strings

    if isinstance(cfg_or_path, str):
        cfg = load_config(cfg_or_path)
    else:
        cfg = cfg_or_path
    if cfg_options is not None:
        cfg = copy.deepcopy(cfg)
        cfg.merge_from_dict(cfg_options)
    if cfg.get('custom_imports'):  # Config.fromfile did it for a file
        import_modules_from_strings(**cfg.custom_imports)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = revert_sync_batchnorm(MODELS.build(copy.deepcopy(cfg.model)))
        if init_weights:  # initializers are looked up in the scope too
            _quiet_init_weights(model)
    if checkpoint is not None:
        load_weights(model, checkpoint)
    model.to(device)
    model.eval()  # (some modules' train() returns None)
    return model


def _quiet_init_weights(model: nn.Module) -> None:
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # init_weights logs every parameter
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)


def load_weights(model: nn.Module, checkpoint: str) -> None:
    """Load ``checkpoint`` (an mmengine / mmvit ``.pth``) into ``model``
    with mmengine's loader, every key and shape matching.

    Raises:
        FileNotFoundError: ``checkpoint`` does not exist.
        ValueError: Its weights do not fit ``model`` (the message names the
            file and the mismatched keys).
    """
    from mmengine.runner import load_checkpoint
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    try:
        load_checkpoint(
            model, checkpoint, map_location='cpu', strict=True, logger=None)
    except (RuntimeError, KeyError) as err:
        raise ValueError(f'checkpoint {checkpoint} does not match the model '
                         f'of the config: {str(err)[:2000]}') from err


# ------------------------------------------------------------------ runners
def build_runner(cfg: Config):
    """The runner of ``cfg`` (``runner_type`` honoured), with the gloo
    process group started first on machines without GPUs."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    init_cpu_process_group(cfg)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


# ------------------------------------------------- CPU / gloo fallback
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
    """Two lines: what happened, what to do."""
    happened = (
        f"This run expects GPUs ({'; '.join(reasons)}) but "
        f'torch.cuda.is_available() is False (torch {torch.__version__}, '
        f'built for CUDA {torch.version.cuda}): it runs on CPU instead' +
        (f": {'; '.join(changes)}." if changes else '.'))
    to_do = ('For GPUs, install a CUDA build of torch and an mmcv built for '
             'it (`nvidia-smi` lists the GPUs; CUDA_VISIBLE_DEVICES, if set, '
             'names them); for CPU on purpose and no message, plain BN in '
             'the config and, for torchrun, CUDA_VISIBLE_DEVICES=-1 and '
             '--cfg-options env_cfg.dist_cfg.backend=gloo.')
    return f'{happened}\n{to_do}'


def init_cpu_process_group(cfg: Config) -> None:
    """On a machine without GPUs, start the gloo process group from
    torchrun's environment before the runner would try to pick a CUDA
    device (the runner then uses this group)."""
    if (_cpu_only(cfg) and cfg.launcher == 'pytorch'
            and not torch_dist.is_initialized()):
        torch_dist.init_process_group(backend='gloo')
