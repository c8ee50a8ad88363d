# SSDLite-MobileViT-XXS on COCO 2017 at 320x320, the paper's recipe.
# Paper: 1.7 M params (1.8 M in the ml-cvnets README), 19.9 mAP.
# Backbone weights: see the -s config.
_base_ = './ssdlite_mobilevit-s_4xb32-200e_coco.py'
pretrained = 'checkpoints/mobilevit-xxsmall_in1k_mmvit.pth'
model = dict(
    backbone=dict(
        arch='xx_small',
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(in_channels=(64, 80)),
    bbox_head=dict(in_channels=(64, 80, 256, 128, 128, 64)))
