# mmseg's 80k-iteration schedule with the MobileViT optimizer, for the
# mmseg models that take a MobileViT backbone on ADE20K (semantic FPN,
# UPerNet). AdamW instead of mmseg's SGD: MobileViT's transformer blocks are
# trained with AdamW in every ml-cvnets recipe (and in mmvit's DeepLabv3
# configs). As there: weight decay 0.01, warm-up over 500 iterations from a
# tenth of the rate, x10 rate for the randomly initialised parts (neck and
# heads: everything but the backbone); the rate is that recipe's 9e-4 for a
# total batch of 128, scaled linearly to the 16 (4 GPUs x 4 images) of the
# configs that use it. mmseg's poly decay is kept, down to 0 (mmseg's
# eta_min=1e-4 belongs to SGD's rate of 1e-2).
_base_ = 'mmseg::_base_/schedules/schedule_80k.py'
optimizer = dict(
    _delete_=True,
    type='AdamW',
    lr=9e-4 * 16 / 128,
    betas=(0.9, 0.999),
    weight_decay=0.01)
optim_wrapper = dict(
    optimizer=optimizer,
    paramwise_cfg=dict(custom_keys={
        'neck': dict(lr_mult=10.),
        'decode_head': dict(lr_mult=10.),
        'auxiliary_head': dict(lr_mult=10.),
    }))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=500),
    dict(
        type='PolyLR',
        eta_min=0.,
        power=0.9,
        begin=500,
        end=80000,
        by_epoch=False),
]
# `--auto-scale-lr` rescales the rates linearly for another total batch
auto_scale_lr = dict(enable=False, base_batch_size=16)
