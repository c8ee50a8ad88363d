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
    './_base_/models/deeplabv3_mobilevit-s-d16.py',
    './_base_/datasets/shapes_seg.py',
    'mmseg::_base_/default_runtime.py',
    './_base_/schedules/deeplabv3_mobilevit_adamw-50e.py',
    './_base_/schedules/shapes_demo.py',
]
log_processor = dict(by_epoch=True)  # epoch-based schedule
custom_imports = dict(
    imports=['mmvit.models', 'mmvit.datasets'], allow_failed_imports=False)
num_train, num_val = 2400, 200
max_epochs = 2
crop_size = (256, 256)
# written by stage 1 (the demo passes its own path)
pretrain_config = 'configs/mobilevit/mobilevit-xxsmall_1xb32_shapes.py'
pretrained = 'work_dirs/mobilevit-xxsmall_1xb32_shapes/epoch_2.pth'

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
            _delete_=True,
            type='Pretrained',
            checkpoint=pretrained,
            prefix='backbone.')),
    decode_head=dict(in_channels=80, num_classes=4, norm_cfg=norm_cfg))
optim_wrapper = _base_.shapes_demo.optim_wrapper
param_scheduler = [
    _base_.shapes_demo.warmup,
    dict(
        _base_.shapes_demo.cosine,
        T_max=max_epochs,
        eta_min_ratio=1e-3,
        end=max_epochs),
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
    _base_.shapes_demo.mid_epoch_resume_hook,
]
default_hooks = dict(
    logger=_base_.shapes_demo.logger,
    checkpoint=dict(_base_.shapes_demo.checkpoint, interval=max_epochs))
env_cfg = dict(cudnn_benchmark=False)
auto_scale_lr = dict(base_batch_size=8)
