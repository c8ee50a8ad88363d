# UPerNet with a MobileViT-S backbone (output stride 32) on ADE20K, 512x512
# crops, 4 GPUs x 4 images, 80k iterations: mmseg's shipped
# upernet/upernet_r50_4xb4-80k_ade20k-512x512 with only the backbone, the
# head inputs, the input normalisation and the optimizer changed (mmseg's
# UPerHead width of 512 is kept: the head holds most of the parameters and
# FLOPs). Not trained here: no metric is claimed.
#
# The backbone starts from the ImageNet-1k MobileViT-S weights of ml-cvnets,
# converted to mmvit's names (README, "Pretrained weights") and saved at
# `pretrained` below. Training stops with "<path> can not be found" if the
# file is missing; to train from scratch add
#   --cfg-options model.backbone.init_cfg=None
_base_ = 'mmseg::upernet/upernet_r50_4xb4-80k_ade20k-512x512.py'
# `import mmvit` applies its runtime fixes (mmvit.compat); the `mmvit.X`
# types then import their modules on first use (mmvit/registry.py)
custom_imports = dict(imports=['mmvit'], allow_failed_imports=False)
pretrained = 'checkpoints/mobilevit-small_in1k_mmvit.pth'
# ml-cvnets v0.1 ImageNet weights were trained on OpenCV images: BGR,
# scaled to [0, 1], no mean/std normalisation
data_preprocessor = dict(
    mean=[0., 0., 0.], std=[255., 255., 255.], bgr_to_rgb=False)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained=None,  # the r50 base's; the backbone's init_cfg says it
    backbone=dict(
        _delete_=True,
        type='mmvit.MobileViT',
        arch='small',
        # stages 1-4 (0-based): strides 4, 8, 16, 32, the four levels
        # UPerHead fuses
        out_indices=(1, 2, 3, 4),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    # MobileViT.arch_out_channels('small', (1, 2, 3, 4), 4)
    decode_head=dict(in_channels=[64, 96, 128, 160]),
    auxiliary_head=dict(in_channels=128))  # in_index 2: stage 3, stride 16
# AdamW instead of mmseg's SGD: MobileViT's transformer blocks are trained
# with AdamW in every ml-cvnets recipe (and in mmvit's DeepLabv3 configs).
# As there: weight decay 0.01, warm-up over 500 iterations from a tenth of
# the rate, x10 rate for the heads; the rate is that recipe's 9e-4 for a
# total batch of 128, scaled linearly to this config's 16. mmseg's poly
# decay is kept, down to 0 (mmseg's eta_min=1e-4 belongs to SGD's rate of
# 1e-2).
optimizer = dict(
    _delete_=True,
    type='AdamW',
    lr=9e-4 * 16 / 128,
    betas=(0.9, 0.999),
    weight_decay=0.01)
optim_wrapper = dict(
    optimizer=optimizer,
    paramwise_cfg=dict(custom_keys={
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
