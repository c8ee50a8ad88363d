# ml-cvnets segmentation recipe: 50 epochs, AdamW (wd 0.01), linear warm-up
# over 500 iterations from 9e-5 to 9e-4, cosine to 1e-6, EMA (momentum
# 0.0005, buffers included), head learning rate x10. The total batch of the
# recipe is 4 GPUs x 32 images = 128.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=9e-4, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={
        'decode_head': dict(lr_mult=10.),
        'auxiliary_head': dict(lr_mult=10.),
    }))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=500),
    dict(
        type='CosineAnnealingLR',
        T_max=50,
        eta_min_ratio=1e-6 / 9e-4,  # 1e-6 for the backbone, x10 for heads
        by_epoch=True,
        begin=0,
        end=50,
        convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=50, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExponentialMovingAverage',
        momentum=0.0005,
        update_buffers=True,
        priority=49),
]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=True,
        interval=5,
        max_keep_ckpts=3,
        save_best='mIoU',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
# The recipe's learning rates are for a total batch of 128; `--auto-scale-lr`
# rescales them linearly for another total batch.
auto_scale_lr = dict(enable=False, base_batch_size=128)
