"""How the tools load configs and build runners, and how mmengine's
distributed launch is made to run on CPU-only machines too.

mmengine's ``pytorch`` launcher pins each process to a CUDA device and wraps
the model with ``device_ids=[LOCAL_RANK]``, and the configs ask for NCCL; none
of that exists without a GPU. With GPUs these functions change nothing.
"""
import os.path as osp

import torch
import torch.distributed as torch_dist
from mmengine.config import Config


def _cpu_only(cfg: Config) -> bool:
    return (cfg.get('launcher', 'none') != 'none'
            and not torch.cuda.is_available())


def prepare_distributed(cfg: Config) -> None:
    """On a machine without GPUs, switch ``cfg`` to gloo and wrap models
    without device ids."""
    if not _cpu_only(cfg):
        return
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel')
    wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper


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
