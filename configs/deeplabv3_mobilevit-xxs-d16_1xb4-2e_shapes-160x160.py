# Quick start on the generated shapes dataset, one process on a CPU:
#   python tools/train.py configs/deeplabv3_mobilevit-xxs-d16_1xb4-2e_shapes-160x160.py
# DeepLabv3-MobileViT-XXS from scratch (the paper's head: OS16, ASPP 256,
# rates 6/12/18), 160x160 crops, batch 4, plain BN, the paper's optimiser
# (AdamW, warm-up, cosine, EMA, head lr x10) squeezed into 2 epochs = 400
# iterations; validated with mmseg's IoUMetric at the end (evaluation at the
# native image size). The data is generated on first use.
_base_ = [
    './_base_/models/deeplabv3_mobilevit-s-d16.py',
    './_base_/datasets/shapes_seg.py',
    'mmseg::_base_/default_runtime.py',
    './_base_/schedules/deeplabv3_mobilevit_adamw-50e.py',
]
log_processor = dict(by_epoch=True)  # epoch-based schedule
custom_imports = dict(
    imports=[
        'mmvit.models', 'mmvit.datasets', 'mmvit.datasets.shapes_segmentation'
    ],
    allow_failed_imports=False)
max_epochs = 2
crop_size = (160, 160)
norm_cfg = dict(type='BN', requires_grad=True)  # one process: no SyncBN
data_preprocessor = dict(size=crop_size)
train_pipeline = [
    dict(type='mmvit.LoadImageFromFileChecked'),
    dict(type='LoadAnnotations'),
    dict(type='mmvit.CheckSegMap', num_classes=4),
    dict(
        type='RandomResize',
        scale=(512, 256),
        ratio_range=(0.75, 1.25),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(arch='xx_small', norm_cfg=norm_cfg),
    decode_head=dict(in_channels=80, num_classes=4, norm_cfg=norm_cfg))
optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min_ratio=1e-3,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
# a short run: EMA with a time constant of ~50 iterations instead of 2000
custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExponentialMovingAverage',
        momentum=0.02,
        update_buffers=True,
        priority=49),
    dict(type='mmvit.MidEpochResumeHook'),  # says what a resume retrains
]
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
auto_scale_lr = dict(base_batch_size=4)
