# ml-cvnets detection recipe: 200 epochs, AdamW (weight decay 0.01 on every
# parameter), linear warm-up over 500 iterations from 9e-5 to 9e-4, cosine
# down to 1e-6, EMA (momentum 0.0005, buffers included). The total batch of
# the recipe is 4 GPUs x 32 images = 128. Add `--amp` for mixed precision.
# On mmdet's runtime: checkpoints every validation (10 epochs), the 3 newest
# and the best COCO mAP kept.
_base_ = 'mmdet::_base_/default_runtime.py'
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook',
        interval=10,
        max_keep_ckpts=3,
        save_best='coco/bbox_mAP',
        rule='greater'))
max_epochs = 200
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=9e-4, betas=(0.9, 0.999), weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=500),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=1e-6,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExponentialMovingAverage',
        momentum=0.0005,
        update_buffers=True,
        priority=49),
    dict(type='CheckInvalidLossHook', interval=50, priority='VERY_LOW'),
]
# The recipe's learning rates are for a total batch of 128; `--auto-scale-lr`
# rescales them linearly for another total batch.
auto_scale_lr = dict(enable=False, base_batch_size=128)
