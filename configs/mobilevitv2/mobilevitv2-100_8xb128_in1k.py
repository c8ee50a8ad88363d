# MobileViTv2-1.0 on ImageNet-1k, the authors' v2 recipe (ml-cvnets HEAD
# `config/classification/imagenet/mobilevit_v2.yaml`, 8 GPUs x 128 images):
# single-scale 256x256 batches (no variable-batch sampler), RandAugment,
# random erasing, Mixup / CutMix, label smoothing, AdamW wd 0.05 without decay
# on norms and biases, EMA.
_base_ = [
    '../_base_/models/mobilevitv2.py',
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/default_runtime.py',
]

# the dataset base's RGB mean / std replaced by mmvit's BGR-[0, 1] input
data_preprocessor = dict(
    mean=[0., 0., 0.], std=[255., 255., 255.], to_rgb=False)
model = dict(
    # cvnets applies one of Mixup (alpha 0.2) / CutMix (alpha 1.0) per batch
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.2),
        dict(type='CutMix', alpha=1.0)
    ]))

mean_fill = [124, 116, 104]  # ImageNet mean (BGR, 0-255) for fills
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=256,
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # cvnets: torchvision's RandAugment (2 ops, magnitude 9 of 31 bins, the
    # "increasing" op set); mmpretrain's timm_increasing policies at level
    # 9 / 30 without magnitude noise are the same ops and ranges
    dict(
        type='RandAugment',
        policies='timm_increasing',
        num_policies=2,
        total_level=30,
        magnitude_level=9,
        magnitude_std=0.,
        hparams=dict(pad_val=mean_fill, interpolation='bicubic')),
    dict(
        type='RandomErasing',
        erase_prob=0.25,
        mode='rand',
        min_area_ratio=0.02,
        max_area_ratio=1 / 3),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='ResizeEdge',
        scale=288,
        edge='short',
        backend='pillow',
        interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=256),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=128,  # per GPU; 8 GPUs -> 1024
    num_workers=8,
    persistent_workers=True,
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=100, num_workers=8, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# AdamW 2e-3, weight decay 0.05 except norms and biases, gradient clipping at
# 10; linear warm-up 1e-6 -> 2e-3 over 20k iterations, then per-epoch cosine
# to 2e-4 over 300 epochs. cvnets trains in mixed precision: add `--amp` on
# GPUs.
optim_wrapper = dict(
    optimizer=dict(
        type='AdamW', lr=0.002, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.),
    clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-6 / 0.002,
        by_epoch=False,
        begin=0,
        end=20000),
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
]
randomness = dict(seed=0, deterministic=False)
auto_scale_lr = dict(base_batch_size=1024)
