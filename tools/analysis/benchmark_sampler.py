"""Benchmark one training epoch: fixed 256x256 batches vs MobileViT's
multi-scale variable-batch sampler.

Both runs train the same model from the same ImageNet config on the same
generated image-folder dataset (same sample count), one epoch each, with the
real mmengine runner. Prints optimizer steps, epoch wall time and their
ratios (variable / fixed). By the pixel budget the ideal step ratio is
``S * b / sum(b_t)`` (0.74 for the paper's table) and, if time were
proportional to pixels, so would be the time ratio.

Example::

    python tools/analysis/benchmark_sampler.py \\
        configs/mobilevit/mobilevit-xxsmall_8xb128_in1k.py --batch-size 64
"""
import argparse
import copy
import os
import os.path as osp
import tempfile
import time

import cv2
import numpy as np
import torch
from mmengine.hooks import Hook

from mmvit.apis import build_runner, load_config
from mmvit.datasets.multiscale import build_scale_table, min_batches_for
from mmvit.utils.cli import run_cli


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'config',
        nargs='?',
        default='configs/mobilevit/mobilevit-xxsmall_8xb128_in1k.py',
        help='an ImageNet config using MultiScaleVariableBatchSampler')
    parser.add_argument(
        '--batch-size',
        type=int,
        default=64,
        help='batch size at the 256x256 reference (both runs)')
    parser.add_argument(
        '--num-images',
        type=int,
        default=None,
        help='dataset size; default: 5 full rounds of the scale table')
    parser.add_argument('--num-classes', type=int, default=10)
    parser.add_argument('--num-workers', type=int, default=2)
    parser.add_argument(
        '--data-dir',
        default=None,
        help='keep the generated images under this folder (reused by '
        'later runs with the same --num-images)')
    parser.add_argument(
        '--only',
        choices=['fixed', 'variable'],
        default=None,
        help='run one mode only')
    return parser.parse_args()


def make_image_folder(root, num_images, num_classes, seed=0):
    """ImageNet-like JPEGs (random sizes 256..480) in ``root/<class>/``."""
    rng = np.random.default_rng(seed)
    done = sum(len(files) for _, _, files in os.walk(root))
    if done >= num_images:
        return root
    for i in range(num_images):
        folder = osp.join(root, f'class_{i % num_classes:03d}')
        os.makedirs(folder, exist_ok=True)
        h, w = rng.integers(256, 481, size=2)
        small = rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
        image = cv2.resize(small, (int(w), int(h)))
        image += rng.integers(0, 16, image.shape, dtype=np.uint8)
        cv2.imwrite(osp.join(folder, f'{i:06d}.jpg'), image)
    return root


class EpochTimer(Hook):
    """Wall time of the training epoch and the images it consumed."""

    priority = 'VERY_LOW'

    def before_train_epoch(self, runner):
        self.start = time.perf_counter()
        self.steps = 0
        self.images = 0
        self.pixels = 0

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        self.steps += 1
        self.images += len(data_batch['inputs'])
        self.pixels += sum(x.shape[-1] * x.shape[-2]
                           for x in data_batch['inputs'])
        if self.steps % 5 == 0:
            print(
                f'  step {self.steps}/{len(runner.train_dataloader)}, '
                f'{time.perf_counter() - self.start:.0f} s',
                flush=True)

    def after_train_epoch(self, runner):
        self.seconds = time.perf_counter() - self.start


def build_cfg(base_cfg, mode, data_root, args, work_dir):
    cfg = copy.deepcopy(base_cfg)
    loader = cfg.train_dataloader
    loader.batch_size = args.batch_size
    loader.num_workers = args.num_workers
    loader.persistent_workers = args.num_workers > 0
    inner = loader.dataset.dataset
    inner.update(
        type='CustomDataset',
        data_root=data_root,
        data_prefix='',
        ann_file='',
        with_label=True)
    inner.pop('split', None)
    if mode == 'fixed':
        # plain batching; the wrapper sees int indices, so the pipeline's
        # SampledSizeTransform crops at its configured 256x256
        loader.batch_sampler = None
    cfg.model.head.num_classes = args.num_classes
    cfg.model.data_preprocessor.num_classes = args.num_classes
    cfg.model.head.topk = (1, )
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = None
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=0)
    cfg.log_level = 'WARNING'
    return cfg


def run(cfg):
    runner = build_runner(cfg)
    timer = EpochTimer()
    runner.register_hook(timer)
    runner.train()
    return dict(
        steps=timer.steps,
        images=timer.images,
        pixels=timer.pixels,
        seconds=timer.seconds)


def main():
    args = parse_args()
    base_cfg = load_config(args.config)
    sampler_cfg = base_cfg.train_dataloader.batch_sampler
    table = build_scale_table(
        batch_size=args.batch_size,
        **{
            k: v
            for k, v in sampler_cfg.items() if k != 'type'
        })
    sizes = [row.batch_size for row in table]
    num_images = args.num_images or 5 * sum(sizes)

    with tempfile.TemporaryDirectory() as tmp:
        data_root = make_image_folder(
            osp.join(args.data_dir or tmp, f'images_{num_images}'), num_images,
            args.num_classes)
        print(f'{num_images} generated images, batch {args.batch_size} at '
              f'256x256, {torch.get_num_threads()} threads, '
              f'{args.num_workers} workers; scale table (h, w, batch): '
              f'{[tuple(r) for r in table]}')
        results = {}
        for mode in ('fixed', 'variable'):
            if args.only and mode != args.only:
                continue
            cfg = build_cfg(base_cfg, mode, data_root, args,
                            osp.join(tmp, mode))
            results[mode] = run(cfg)
            r = results[mode]
            print(f'{mode:>8}: {r["steps"]:4d} optimizer steps, '
                  f'{r["images"]} images, {r["pixels"] / 1e6:.1f} Mpixels, '
                  f'{r["seconds"]:.1f} s epoch '
                  f'({r["seconds"] / r["steps"]:.2f} s/step)')

    fixed_steps = -(-num_images // args.batch_size)
    ideal = min_batches_for(num_images, sizes) / fixed_steps
    print(f'pixel-budget ideal step ratio: {ideal:.3f} '
          f'(S*b/sum(b_t) = {len(sizes) * args.batch_size / sum(sizes):.3f})')
    if len(results) == 2:
        fixed, variable = results['fixed'], results['variable']
        print('variable / fixed: '
              f'steps {variable["steps"] / fixed["steps"]:.3f}, '
              f'wall time {variable["seconds"] / fixed["seconds"]:.3f}, '
              f'pixels {variable["pixels"] / fixed["pixels"]:.3f}')


if __name__ == '__main__':
    run_cli(main)
