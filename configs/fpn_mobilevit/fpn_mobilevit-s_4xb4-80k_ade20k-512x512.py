# Semantic FPN with a MobileViT-S backbone (output stride 32) on ADE20K,
# 512x512 crops, 4 GPUs x 4 images, 80k iterations: mmseg's shipped
# sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512 on mmseg's 80k schedule (the one
# UPerNet uses; mmseg ships semantic FPN on ADE20K at 160k only), with only
# the backbone, the FPN inputs, the input normalisation and the optimizer
# changed (the optimizer: `_base_/schedules/seg_mobilevit_adamw-80k.py`). Not trained here: no metric is claimed.
#
# The backbone starts from the ImageNet-1k MobileViT-S weights of ml-cvnets,
# converted to mmvit's names (README, "Pretrained weights") and saved at
# `pretrained` below. Training stops with "<path> can not be found" if the
# file is missing; to train from scratch add
#   --cfg-options model.backbone.init_cfg=None
_base_ = [
    'mmseg::_base_/models/fpn_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    # mmseg's 80k schedule with MobileViT's AdamW recipe
    '../_base_/schedules/seg_mobilevit_adamw-80k.py',
]
# `import mmvit` applies its runtime fixes (mmvit.compat); the `mmvit.X`
# types then import their modules on first use (mmvit/registry.py)
custom_imports = dict(imports=['mmvit'], allow_failed_imports=False)
crop_size = (512, 512)
pretrained = 'checkpoints/mobilevit-small_in1k_mmvit.pth'
# ml-cvnets v0.1 ImageNet weights were trained on OpenCV images: BGR,
# scaled to [0, 1], no mean/std normalisation
data_preprocessor = dict(
    mean=[0., 0., 0.],
    std=[255., 255., 255.],
    bgr_to_rgb=False,
    size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained=None,  # the r50 base's; the backbone's init_cfg says it
    backbone=dict(
        _delete_=True,
        type='mmvit.MobileViT',
        arch='small',
        # stages 1-4 (0-based): strides 4, 8, 16, 32, the four levels
        # mmseg's FPN neck and FPNHead are built for
        out_indices=(1, 2, 3, 4),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    # MobileViT.arch_out_channels('small', (1, 2, 3, 4), 4)
    neck=dict(in_channels=[64, 96, 128, 160]),
    decode_head=dict(num_classes=150))
