# DeepLabv3-MobileViTv2-1.0 on ADE20K at 512x512, the authors' v2 recipe
# (ml-cvnets HEAD `config/segmentation/ade20k/deeplabv3_mobilevitv2.yaml`):
# output stride 8, ASPP 512 with rates (12, 24, 36), auxiliary FCN head on
# layer 4, 4 GPUs x 4 images, 120 epochs of SGD (momentum 0.9, weight decay
# 1e-4, none on norms and biases) with cosine decay 0.02 -> 2e-4, gradient
# clipping at 10, EMA. Data and augmentation: mmseg's ADE20K dataset config
# (data/ade/ADEChallengeData2016; 150 classes, label 0 ignored).
# Published: 37.06 mIoU.
_base_ = [
    '../_base_/models/deeplabv3_mobilevitv2-d16.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
]
num_classes = 150
pretrained = 'checkpoints/mobilevitv2-100_in1k_mmvit.pth'
data_preprocessor = dict(size=_base_.crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        out_stride=8,
        init_cfg=dict(
            _delete_=True,  # None in the model base
            type='Pretrained',
            checkpoint=pretrained,
            prefix='backbone.')),
    decode_head=dict(dilations=(1, 12, 24, 36), num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))
# mmseg's ADE20K pipelines with mmvit's checks: training images that cannot
# be read and label maps with values outside the 150 classes (after
# reduce_zero_label) are named (mmvit/datasets/checks.py)
train_pipeline = [
    dict(type='mmvit.LoadImageFromFileChecked'),
    _base_.train_pipeline[1],  # LoadAnnotations(reduce_zero_label=True)
    dict(type='mmvit.CheckSegMap', num_classes=num_classes),
    *_base_.train_pipeline[2:],
]
test_pipeline = [
    *_base_.test_pipeline[:3],  # load, resize, LoadAnnotations
    dict(type='mmvit.CheckSegMap', num_classes=num_classes),
    *_base_.test_pipeline[3:],
]
train_dataloader = dict(
    batch_size=4,
    # epoch-based schedule: mmseg's InfiniteSampler is for iteration loops
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.),
    clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=120,
        eta_min=2e-4,
        by_epoch=True,
        begin=0,
        end=120,
        convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=120, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
log_processor = dict(by_epoch=True)
custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExponentialMovingAverage',
        momentum=0.0005,
        update_buffers=True,
        priority=49),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=True,
        interval=10,
        max_keep_ckpts=3,
        save_best='mIoU',
        rule='greater'))
# The recipe's rates are for a total batch of 16; `--auto-scale-lr` rescales
# them linearly for another total batch.
auto_scale_lr = dict(enable=False, base_batch_size=16)
