"""Small runner setups for the multi-scale sampler's end-to-end tests.

Also the torchrun entry point of ``test_sampler_dist.py``::

    torchrun --nproc_per_node 2 multiscale_train_helpers.py DATA WORK_DIR
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import List, Optional

import cv2
import numpy as np
from mmengine.hooks import Hook

# the sampler, its dataset wrapper and transform (the registry would import
# them on first use; the torchrun entry point names them up front)
import mmvit.datasets.multiscale  # noqa: F401


def make_image_folder(root: str,
                      num_classes: int = 2,
                      per_class: int = 12,
                      seed: int = 0) -> str:
    """Write an ImageNet-style ``root/<class>/<image>.jpg`` folder."""
    rng = np.random.default_rng(seed)
    for c in range(num_classes):
        os.makedirs(osp.join(root, f'class_{c}'), exist_ok=True)
        for i in range(per_class):
            h, w = rng.integers(72, 160, size=2)
            image = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
            image[..., c % 3] = 255 - 40 * c  # a learnable colour cue
            cv2.imwrite(osp.join(root, f'class_{c}', f'{i:03d}.jpg'), image)
    return root


class SizeRecorder(Hook):
    """Records (epoch, iter, height, width, sample ids) of each batch."""

    priority = 'VERY_LOW'

    def __init__(self, same_size: bool = True) -> None:
        self.same_size = same_size  # False: crops may be smaller than asked
        self.records: List[tuple] = []

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        inputs = data_batch['inputs']
        shapes = {tuple(x.shape[-2:]) for x in inputs}
        if self.same_size:
            assert len(shapes) == 1, f'mixed sizes in one batch: {shapes}'
        h, w = (max(s[i] for s in shapes) for i in (0, 1))
        # mmpretrain packs the dataset index; mmdet / mmseg the image path
        indices = [
            s.metainfo.get('sample_idx', s.metainfo.get('img_path'))
            for s in data_batch['data_samples']
        ]
        self.records.append((runner.epoch, runner.iter, h, w, indices))


def train_pipeline(base_size: int) -> list:
    return [
        dict(type='LoadImageFromFile'),
        dict(
            type='mmvit.SampledSizeTransform',
            transform=dict(type='RandomResizedCrop', scale=base_size),
            size_arg='scale',
            size_order='hw'),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackInputs'),
    ]


def multiscale_train_dataloader(data_root: str,
                                batch_size: int = 4,
                                num_workers: int = 2,
                                base_size: int = 64,
                                min_size: int = 32,
                                max_size: int = 96,
                                num_scales: int = 3) -> dict:
    """A train_dataloader config using the sampler (mmpretrain scope)."""
    return dict(
        batch_size=batch_size,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        sampler=dict(type='DefaultSampler', shuffle=True),
        batch_sampler=dict(
            type='mmvit.MultiScaleVariableBatchSampler',
            base_size=base_size,
            min_size=min_size,
            max_size=max_size,
            num_scales=num_scales),
        dataset=dict(
            type='mmvit.MultiScaleDataset',
            dataset=dict(
                type='CustomDataset',
                data_root=data_root,
                pipeline=train_pipeline(base_size))))


def tiny_classifier(num_classes: int = 2) -> dict:
    """A small mmpretrain classifier; BGR [0, 1] input as MobileViT."""
    return dict(
        type='ImageClassifier',
        data_preprocessor=dict(
            type='ClsDataPreprocessor',
            num_classes=num_classes,
            mean=[0., 0., 0.],
            std=[255., 255., 255.],
            to_rgb=False),
        backbone=dict(type='MobileNetV2', widen_factor=0.25),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=num_classes,
            in_channels=1280,
            loss=dict(type='CrossEntropyLoss')))


def runner_kwargs(data_root: str,
                  work_dir: str,
                  max_epochs: int = 2,
                  num_workers: int = 2,
                  recorder: Optional[SizeRecorder] = None,
                  checkpoint: Optional[dict] = None,
                  launcher: str = 'none',
                  seed: int = 0) -> dict:
    """Keyword arguments of ``mmengine.runner.Runner`` (``seed``: the
    runner's, which seeds the sampler's plans)."""
    kwargs = dict(
        model=tiny_classifier(),
        work_dir=work_dir,
        train_dataloader=multiscale_train_dataloader(
            data_root, num_workers=num_workers),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
        default_scope='mmpretrain',
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=checkpoint or dict(type='CheckpointHook', interval=1)),
        custom_hooks=[recorder] if recorder is not None else None,
        randomness=dict(seed=seed),
        env_cfg=dict(
            dist_cfg=dict(backend='gloo'),
            mp_cfg=dict(mp_start_method='fork')),
        launcher=launcher,
        log_level='WARNING')
    if launcher != 'none':
        # CPU modules must not get device_ids (read from ``Runner.cfg``)
        kwargs['cfg'] = dict(
            model_wrapper_cfg=dict(
                type='MMDistributedDataParallel', device_ids=None))
    return kwargs


def main(argv: Optional[List[str]] = None) -> None:
    """Per-rank body of the 2-process test: train, dump what happened."""
    import torch.distributed as dist
    from mmengine.runner import Runner

    parser = argparse.ArgumentParser()
    parser.add_argument('data_root')
    parser.add_argument('work_dir')
    parser.add_argument('--epochs', type=int, default=2)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)

    # mmengine's init_dist calls torch.cuda.set_device, which a CPU build
    # lacks; start gloo ourselves and the runner keeps it.
    dist.init_process_group('gloo')
    recorder = SizeRecorder()
    runner = Runner(**runner_kwargs(
        args.data_root,
        args.work_dir,
        max_epochs=args.epochs,
        num_workers=1,
        recorder=recorder,
        launcher='pytorch',
        seed=args.seed))
    runner.train()
    rank = dist.get_rank()
    batch_sampler = runner.train_dataloader.batch_sampler
    with open(osp.join(args.work_dir, f'rank{rank}.json'), 'w') as f:
        json.dump(
            dict(
                rank=rank,
                world_size=dist.get_world_size(),
                iters=runner.iter,
                len_dataloader=len(runner.train_dataloader),
                plans=[[list(row) for row in batch_sampler.plan(e)]
                       for e in range(args.epochs)],
                records=recorder.records), f)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == '__main__':
    sys.exit(main())
