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
# the bases of mmseg's upernet_r50_4xb4-80k_ade20k-512x512.py, its schedule
# with MobileViT's AdamW recipe
_base_ = [
    'mmseg::_base_/models/upernet_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/seg_mobilevit_adamw-80k.py',
]
crop_size = (512, 512)  # what mmseg's UPerNet config adds to its bases
# `import mmvit` applies its runtime fixes (mmvit.compat); the `mmvit.X`
# types then import their modules on first use (mmvit/registry.py)
custom_imports = dict(imports=['mmvit'], allow_failed_imports=False)
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
        # UPerHead fuses
        out_indices=(1, 2, 3, 4),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    # MobileViT.arch_out_channels('small', (1, 2, 3, 4), 4)
    decode_head=dict(in_channels=[64, 96, 128, 160], num_classes=150),
    # in_index 2: stage 3, stride 16
    auxiliary_head=dict(in_channels=128, num_classes=150))
