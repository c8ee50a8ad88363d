# Stage 1 of the embedded demo: MobileViT-XXS pretrained on the generated
# shapes classification set (the demo's ImageNet: one shape or none per
# image, mmvit.ShapesClsDataset, written to data/shapes_cls on first use),
# with the paper's multi-scale variable-batch sampler, on one CPU process:
#   python tools/train.py configs/mobilevit/mobilevit-xxsmall_1xb32_shapes.py
# The shapes detection and segmentation demos start from its checkpoint
# (init_cfg=dict(type='Pretrained', prefix='backbone.')), as the COCO / VOC
# configs start from converted ImageNet weights.
_base_ = [
    './mobilevit-xxsmall_8xb128_in1k.py',
    '../_base_/schedules/shapes_demo.py',
]

data_root = 'data/shapes_cls/'
num_classes = 4  # len(mmvit.datasets.shapes.CLS_CLASSES)
max_epochs = 2
norm_cfg = dict(type='BN')
model = dict(
    data_preprocessor=dict(num_classes=num_classes),
    backbone=dict(norm_cfg=norm_cfg),
    head=dict(num_classes=num_classes, topk=(1, )))

# sizes around 128 (the demo images are 112-256 px): 96 / 128 / 160
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='mmvit.SampledSizeTransform',
        transform=dict(
            type='RandomResizedCrop',
            scale=128,
            crop_ratio_range=(0.5, 1.0),
            backend='cv2',
            interpolation='bilinear'),
        size_arg='scale',
        size_order='hw'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128)),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    batch_sampler=dict(
        base_size=128,
        min_size=96,
        max_size=160,
        num_scales=3,
        # HEAD's rule (batch scales with 1 / area): (96, 56) (128, 32)
        # (160, 20) for one process
        clamp_to_base_batch=False,
        batch_size_divisor=1),
    dataset=dict(
        dataset=dict(
            _delete_=True,
            type='mmvit.ShapesClsDataset',
            data_root=data_root,
            ann_file='meta/train.txt',
            data_prefix='train',
            pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=64,
    num_workers=1,
    dataset=dict(
        _delete_=True,
        type='mmvit.ShapesClsDataset',
        data_root=data_root,
        ann_file='meta/val.txt',
        data_prefix='val',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

# the recipe (AdamW, warm-up, cosine) squeezed into a few hundred
# iterations; no EMA (too short a run for it to help)
optim_wrapper = _base_.shapes_demo.optim_wrapper
param_scheduler = [
    _base_.shapes_demo.warmup,
    dict(_base_.shapes_demo.cosine, eta_min=1e-5, end=max_epochs),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
custom_hooks = [_base_.shapes_demo.mid_epoch_resume_hook]
default_hooks = dict(
    logger=_base_.shapes_demo.logger,
    checkpoint=dict(_base_.shapes_demo.checkpoint, interval=max_epochs))
auto_scale_lr = dict(base_batch_size=32)
