# RetinaNet + FPN with a MobileViT-S backbone: mmdet's shipped
# retinanet_r50_fpn_1x_coco (COCO, 1333x800, 8 GPUs x 2 images, 12 epochs)
# with only the backbone, the FPN inputs, the input normalisation and the
# optimizer changed. Not trained here: no metric is claimed.
#
# The backbone starts from the ImageNet-1k MobileViT-S weights of ml-cvnets,
# converted to mmvit's names (README, "Pretrained weights") and saved at
# `pretrained` below. Training stops with "<path> can not be found" if the
# file is missing; to train from scratch add
#   --cfg-options model.backbone.init_cfg=None
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
# `import mmvit` applies its runtime fixes (mmvit.compat); the `mmvit.X`
# types then import their modules on first use (mmvit/registry.py)
custom_imports = dict(imports=['mmvit'], allow_failed_imports=False)
pretrained = 'checkpoints/mobilevit-small_in1k_mmvit.pth'
model = dict(
    data_preprocessor=dict(
        # ml-cvnets v0.1 ImageNet weights were trained on OpenCV images:
        # BGR, scaled to [0, 1], no mean/std normalisation
        mean=[0., 0., 0.],
        std=[255., 255., 255.],
        bgr_to_rgb=False),
    backbone=dict(
        _delete_=True,
        type='mmvit.MobileViT',
        arch='small',
        # stages 2, 3, 4 (0-based): strides 8, 16, 32; the r50 config's
        # stride-4 map is dropped by FPN's start_level=1, so it is not
        # computed here at all
        out_indices=(2, 3, 4),
        # BN trained (SyncBN across the 16 images of a step) as in
        # ml-cvnets' detection recipes, instead of ResNet's frozen BN
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(
        # MobileViT.arch_out_channels('small', (2, 3, 4), 4)
        in_channels=[96, 128, 160],
        start_level=0))  # P3-P5 from the backbone, P6-P7 extra convs
# AdamW instead of mmdet's SGD: MobileViT's transformer blocks are trained
# with AdamW in every ml-cvnets recipe (and in mmvit's SSDLite configs), as
# mmdet's own transformer-backbone configs (PVT, Swin) do. The rate is the
# SSDLite recipe's 9e-4 for a total batch of 128, scaled linearly to this
# config's 16 (mmdet's schedule, warm-up and steps otherwise kept; weight
# decay 0.01 on every parameter, as ml-cvnets).
optim_wrapper = dict(
    optimizer=dict(
        _delete_=True,
        type='AdamW',
        lr=9e-4 * 16 / 128,
        betas=(0.9, 0.999),
        weight_decay=0.01))
