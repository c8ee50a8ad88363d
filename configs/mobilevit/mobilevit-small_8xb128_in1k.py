# MobileViT-S on ImageNet-1k, the paper's recipe (ml-cvnets v0.1
# `mobilevit_small.yaml`, 8 GPUs x 128 images).
_base_ = [
    '../_base_/models/mobilevit-small.py',
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/default_runtime.py',
]

# The dataset base's (RGB, ImageNet mean/std) replaced by the model's
# BGR-[0, 1] convention of the released weights.
data_preprocessor = dict(
    mean=[0., 0., 0.], std=[255., 255., 255.], to_rgb=False)

# Multi-scale variable-batch sampler (paper Sec. 4) with ml-cvnets v0.1's
# table, the one the released weights were trained with: every batch draws
# one size from (h, w, batch) = (160, 328) (192, 224) (256, 128) (288, 128)
# (320, 128): sizes above 256 keep the base batch, and batches are rounded to
# a multiple of the 8 GPUs; ~0.68x the optimizer steps of fixed 256x256
# batches of 128. (ml-cvnets HEAD's table is in
# mobilevit-small_8xb128-cvnets-head_in1k.py.) The sampler tags each index
# with its size, MultiScaleDataset hands it to the pipeline and
# SampledSizeTransform crops at it (256x256 without a size).
# Augmentation: random-resized crop + horizontal flip only.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='mmvit.SampledSizeTransform',
        transform=dict(
            type='RandomResizedCrop',
            scale=256,
            backend='cv2',
            interpolation='bilinear'),
        size_arg='scale',
        size_order='hw'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=288, edge='short'),
    dict(type='CenterCrop', crop_size=256),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=128,  # per GPU at the 256x256 reference; 8 GPUs -> 1024
    persistent_workers=True,
    batch_sampler=dict(
        type='mmvit.MultiScaleVariableBatchSampler',
        base_size=256,
        min_size=160,
        max_size=320,
        num_scales=5,
        clamp_to_base_batch=True,  # v0.1: batch = max(128, 256^2*128/(h*w))
        batch_size_divisor=8),  # v0.1: ... rounded to a multiple of 8 GPUs
    dataset=dict(
        _delete_=True,
        type='mmvit.MultiScaleDataset',
        dataset=dict(
            type='ImageNet',
            data_root='data/imagenet',
            split='train',
            pipeline=train_pipeline)))
val_dataloader = dict(batch_size=128, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# AdamW (weight decay on every parameter, as ml-cvnets), 3k-iteration linear
# warm-up 2e-4 -> 2e-3, then per-epoch cosine down to 2e-4 over 300 epochs.
optim_wrapper = dict(
    optimizer=dict(
        type='AdamW', lr=0.002, betas=(0.9, 0.999), weight_decay=0.01))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=False,
        begin=0,
        end=3000),
    dict(
        type='CosineAnnealingLR',
        eta_min=0.0002,
        by_epoch=True,
        begin=0,
        end=300,
        convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# ml-cvnets averages the whole state dict, BN statistics included.
custom_hooks = [
    dict(
        type='EMAHook',
        momentum=0.0005,
        update_buffers=True,
        priority='ABOVE_NORMAL'),
    # `--resume` of an iteration checkpoint continues the interrupted epoch
    # at its next batch instead of training its first batches again
    dict(type='mmvit.MidEpochResumeHook'),
]
# The sample order and sampler plan are seeded by seed + epoch (a resumed
# run takes the seeds of its checkpoint).
randomness = dict(seed=0, deterministic=False)
auto_scale_lr = dict(base_batch_size=1024)
