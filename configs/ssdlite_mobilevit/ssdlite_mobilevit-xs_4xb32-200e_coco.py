# SSDLite-MobileViT-XS on COCO 2017 at 320x320, the paper's recipe.
# Paper: 2.7 M params, 24.8 mAP. Backbone weights: see the -s config.
_base_ = './ssdlite_mobilevit-s_4xb32-200e_coco.py'
pretrained = 'checkpoints/mobilevit-xsmall_in1k_mmvit.pth'
model = dict(
    backbone=dict(
        arch='x_small',
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(in_channels=(80, 96)),
    bbox_head=dict(in_channels=(80, 96, 256, 128, 128, 64)))
