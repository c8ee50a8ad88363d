"""Evaluate a checkpoint with any mmdet / mmseg / mmpretrain config.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out res.pkl]
                         [--show-dir DIR] [--cfg-options k=v ...]
    bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [same options]
"""
import argparse
import os.path as osp

import mmvit  # noqa: F401 (compatibility fixes first)
from mmengine.config import Config
from mmengine.evaluator import DumpResults

from mmvit.apis import build_runner, load_config, prepare_distributed
from mmvit.preflight import check_config
from mmvit.utils.cli import (add_config_arguments, add_launcher_arguments,
                             parse_launched_args, run_cli)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Test a checkpoint with an OpenMMLab config')
    add_config_arguments(parser, 'test_dataloader.batch_size=8')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='where the metrics log goes; default: '
        './work_dirs/<config name>')
    parser.add_argument(
        '--out', help='also dump the raw predictions to this .pkl file')
    parser.add_argument(
        '--show', action='store_true', help='show predictions in a window')
    parser.add_argument(
        '--show-dir', help='save images with drawn predictions here')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='seconds per --show image')
    add_launcher_arguments(parser, 'dist_test.sh')
    return parse_launched_args(parser, argv)


def _enable_visualization(cfg: Config, args) -> None:
    """Turn on the toolbox's visualization hook (mmdet, mmseg, mmpretrain)."""
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise ValueError(
            '--show / --show-dir need a visualization hook in '
            'default_hooks (e.g. DetVisualizationHook, SegVisualizationHook, '
            'VisualizationHook)')
    if hook['type'].endswith('DetVisualizationHook'):
        hook.update(draw=True, test_out_dir=args.show_dir)
    elif hook['type'].endswith('SegVisualizationHook'):
        hook.update(draw=True)
        if args.show_dir:
            cfg.visualizer['save_dir'] = args.show_dir
    else:  # mmpretrain's VisualizationHook
        hook.update(enable=True, out_dir=args.show_dir)
    if args.show:
        hook.update(show=True, wait_time=args.wait_time)


def build_config(args) -> Config:
    """The config with the command-line options applied."""
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint file not found: '
                                f'{args.checkpoint}')
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out must be a .pkl file, got {args.out}')
    cfg = load_config(args.config, args.launcher, args.cfg_options,
                      args.work_dir)
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        _enable_visualization(cfg, args)
    prepare_distributed(cfg)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = build_config(args)
    check_config(cfg, 'test')  # missing files, mismatched keys: one message
    runner = build_runner(cfg)
    if args.out is not None:
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out))
    return runner.test()


if __name__ == '__main__':
    run_cli(main)
