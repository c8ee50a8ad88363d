"""Train with any mmdet / mmseg / mmpretrain config (mmvit's or the toolbox's).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                          [--auto-scale-lr] [--cfg-options k=v ...]
    bash tools/dist_train.sh CONFIG GPUS [same options]

``mmvit`` is imported first so its compatibility fixes apply before any
toolbox is loaded; the config's ``default_scope`` selects the toolbox.
"""
import argparse
import os.path as osp

import mmvit  # noqa: F401 (compatibility fixes first)
from mmengine.config import Config

from mmvit.apis import build_runner, load_config, prepare_distributed
from mmvit.preflight import check_config
from mmvit.utils import check_training_device
from mmvit.utils.cli import (add_config_arguments, add_launcher_arguments,
                             parse_launched_args, run_cli)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train a model with an OpenMMLab config')
    add_config_arguments(
        parser, 'train_cfg.max_epochs=12 model.backbone.init_cfg=None; '
        'lists as key="[a,b]"')
    parser.add_argument(
        '--work-dir',
        help='where logs and checkpoints go; default: '
        './work_dirs/<config name>')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        help='resume from this checkpoint, or (no value) from the latest '
        'checkpoint in the work dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision (needs a GPU)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate linearly with the total batch size '
        '(relative to the config\'s auto_scale_lr.base_batch_size)')
    add_launcher_arguments(parser, 'dist_train.sh')
    return parse_launched_args(parser, argv)


def build_config(args) -> Config:
    """The config with the command-line options applied."""
    cfg = load_config(args.config, args.launcher, args.cfg_options,
                      args.work_dir)

    if args.amp:
        if cfg.optim_wrapper.get('type') not in ('OptimWrapper',
                                                 'AmpOptimWrapper', None):
            raise ValueError('--amp needs optim_wrapper.type OptimWrapper, '
                             f'got {cfg.optim_wrapper.type}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise ValueError('--auto-scale-lr needs auto_scale_lr.'
                             'base_batch_size in the config')
        cfg.auto_scale_lr.enable = True

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(
                f'--resume checkpoint not found: {args.resume}')
        cfg.resume = True
        cfg.load_from = args.resume

    # no CUDA device: CPU (gloo, BN), said loudly if GPUs were expected
    prepare_distributed(cfg)
    return cfg


def main(argv=None):
    cfg = build_config(parse_args(argv))
    check_config(cfg, 'train')  # missing files, mismatched keys: one message
    check_training_device(cfg)  # on CUDA: mmcv's CUDA ops, determinism
    build_runner(cfg).train()


if __name__ == '__main__':
    run_cli(main)
