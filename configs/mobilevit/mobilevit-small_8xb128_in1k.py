# MobileViT-S on ImageNet-1k, the paper's recipe (8 GPUs x 128 images).
_base_ = [
    '../_base_/models/mobilevit-small.py',
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/default_runtime.py',
]

# The dataset base's (RGB, ImageNet mean/std) replaced by the model's
# BGR-[0, 1] convention of the released weights.
data_preprocessor = dict(
    mean=[0., 0., 0.], std=[255., 255., 255.], to_rgb=False)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=256, backend='cv2',
         interpolation='bilinear'),
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
    batch_size=128, dataset=dict(pipeline=train_pipeline))
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
custom_hooks = [
    dict(type='EMAHook', momentum=0.0005, priority='ABOVE_NORMAL'),
]
auto_scale_lr = dict(base_batch_size=1024)
