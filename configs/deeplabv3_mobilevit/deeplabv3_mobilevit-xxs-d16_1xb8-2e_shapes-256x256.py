# Stage 2 of the embedded demo (tools/demo.py): DeepLabv3-MobileViT-XXS (the
# paper's head: OS16, ASPP 256, rates 6/12/18) fine-tuned on the generated
# shapes masks (data/shapes: 2400 train + 200 val images, written on first
# use by mmvit.ShapesSegDataset) from the backbone pretrained on the shapes
# classification set, as the paper fine-tunes from ImageNet weights;
# evaluated with mmseg's IoUMetric at the native image size:
#   python tools/train.py configs/mobilevit/mobilevit-xxsmall_1xb32_shapes.py
#   python tools/train.py configs/deeplabv3_mobilevit_xxs_shapes.py
# 256x256 crops, batch 8, plain BN for one CPU process, the paper's optimiser
# (AdamW, warm-up, cosine, EMA, head lr x10) squeezed into 2 epochs.
_base_ = [
    '../_base_/models/deeplabv3_mobilevit-s-d16.py',
    '../_base_/datasets/shapes_seg.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/shapes_demo.py',
]
log_processor = dict(by_epoch=True)  # epoch-based schedule
num_train, num_val = 2400, 200
max_epochs = 2
num_classes = _base_.num_classes  # of the data (shapes_seg.py)
crop_size = _base_.crop_size
# written by stage 1 (the demo passes its own path)
pretrain_config = 'configs/mobilevit/mobilevit-xxsmall_1xb32_shapes.py'
pretrained = 'work_dirs/mobilevit-xxsmall_1xb32_shapes/epoch_2.pth'

norm_cfg = dict(type='BN', requires_grad=True)  # one process: no SyncBN
data_preprocessor = dict(size=crop_size)
train_pipeline = [
    dict(type='mmvit.LoadImageFromFileChecked'),
    dict(type='LoadAnnotations'),
    dict(type='mmvit.CheckSegMap', num_classes=num_classes),
    dict(
        type='RandomResize',
        scale=(512, 256),
        ratio_range=(0.75, 1.25),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    dataset=dict(
        pipeline=train_pipeline, num_train=num_train, num_val=num_val))
val_dataloader = dict(
    num_workers=1, dataset=dict(num_train=num_train, num_val=num_val))
test_dataloader = val_dataloader
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        arch='xx_small',
        norm_cfg=norm_cfg,
        init_cfg=dict(
            _delete_=True,  # the model base's is None
            type='Pretrained',
            checkpoint=pretrained,
            prefix='backbone.')),
    decode_head=dict(
        in_channels=80, num_classes=num_classes, norm_cfg=norm_cfg))
# the paper's optimiser with the head's learning rate x10
optim_wrapper = dict(
    _base_.shapes_demo.optim_wrapper,
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.)}))
param_scheduler = [
    _base_.shapes_demo.warmup,
    dict(
        _base_.shapes_demo.cosine,
        T_max=max_epochs,
        eta_min_ratio=1e-3,
        end=max_epochs),
]
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# a short run: EMA with a time constant of ~50 iterations instead of 2000
custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExponentialMovingAverage',
        momentum=0.02,
        update_buffers=True,
        priority=49),
    _base_.shapes_demo.mid_epoch_resume_hook,
]
# mmseg's hooks (its schedule bases define them), the best mIoU kept
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(
        _base_.shapes_demo.logger, type='LoggerHook',
        log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        _base_.shapes_demo.checkpoint,
        type='CheckpointHook',
        by_epoch=True,
        interval=max_epochs,
        save_best='mIoU',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
env_cfg = dict(cudnn_benchmark=False)
# the learning rate is for this batch; `--auto-scale-lr` rescales it
auto_scale_lr = dict(enable=False, base_batch_size=8)
