"""Draw the training samples of a config after its pipeline (augmentations
included), for mmdet, mmseg and mmpretrain configs.

    python tools/browse_dataset.py CONFIG --output-dir vis/ [--num 20]
        [--split train|val|test] [--show] [--cfg-options k=v ...]
"""
import argparse
import copy
import os.path as osp

import mmvit  # noqa: F401 (compatibility fixes first)
from mmengine.registry import DATASETS, VISUALIZERS, init_default_scope

from mmvit.apis import load_config
from mmvit.preflight import check_config
from mmvit.utils.cli import add_config_arguments, run_cli


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Draw dataset samples as the model sees them')
    add_config_arguments(parser)
    parser.add_argument(
        '--output-dir', help='save the drawings here (no display needed)')
    parser.add_argument(
        '--split',
        choices=['train', 'val', 'test'],
        default='train',
        help='which dataloader\'s dataset to draw')
    parser.add_argument(
        '--num', type=int, default=-1, help='samples to draw (-1: all)')
    parser.add_argument(
        '--show', action='store_true', help='show in a window as well')
    parser.add_argument(
        '--show-interval', type=float, default=2, help='seconds per image')
    args = parser.parse_args(argv)
    if args.output_dir is None and not args.show:
        parser.error('give --output-dir and/or --show')
    return args


def _to_image(inputs):
    """``[C, H, W]`` BGR tensor of a packed sample -> ``[H, W, C]`` RGB."""
    img = inputs.permute(1, 2, 0).numpy()
    return img[..., ::-1].copy() if img.shape[-1] == 3 else img


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, cfg_options=args.cfg_options)
    # missing data files: one message, as tools/train.py does; the model is
    # not built here, so its checks (pretrained checkpoints, wiring) are not
    # made: a demo's data can be browsed before its pretraining stage ran
    data_cfg = copy.deepcopy(cfg)
    data_cfg.pop('model', None)
    check_config(data_cfg, 'test' if args.split == 'test' else 'train')
    init_default_scope(cfg.get('default_scope', 'mmdet'))

    dataset = DATASETS.build(cfg[f'{args.split}_dataloader'].dataset)
    visualizer = VISUALIZERS.build(cfg.visualizer)
    visualizer.dataset_meta = dataset.metainfo

    num = len(dataset) if args.num < 0 else min(args.num, len(dataset))
    for index in range(num):
        item = dataset[index]
        sample = item['data_samples']
        img = _to_image(item['inputs'])
        name = f'{index:05d}_' + osp.basename(sample.get('img_path') or '')
        out_file = (
            osp.join(args.output_dir,
                     osp.splitext(name)[0] +
                     '.jpg') if args.output_dir else None)
        if hasattr(visualizer, 'visualize_cls'):  # mmpretrain
            visualizer.visualize_cls(
                img,
                sample,
                draw_pred=False,
                show=args.show,
                wait_time=args.show_interval,
                name=name,
                out_file=out_file)
            continue
        if 'gt_instances' in sample:  # mmdet: plain tensors for drawing
            gt = sample.gt_instances
            if hasattr(gt.get('bboxes'), 'tensor'):
                gt.bboxes = gt.bboxes.tensor
        visualizer.add_datasample(
            name,
            img,
            sample,
            draw_pred=False,
            show=args.show,
            wait_time=args.show_interval,
            out_file=out_file)
    print(f'drew {num} samples of the {args.split} split' +
          (f' to {args.output_dir}' if args.output_dir else ''))


if __name__ == '__main__':
    run_cli(main)
