# SSDLite-MobileViTv2-2.0 on COCO 2017 at 320x320: the MobileViTv2-1.0 recipe
# with width 2.0 (backbone maps of 768 and 1024 channels at strides 16 and
# 32 feed the neck and the first two head levels).
_base_ = './ssdlite_mobilevitv2-100_4xb32-200e_coco.py'
pretrained = 'checkpoints/mobilevitv2-200_in1k_mmvit.pth'
model = dict(
    backbone=dict(
        arch='2.0',
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(in_channels=(768, 1024)),
    bbox_head=dict(in_channels=(768, 1024, 256, 128, 128, 64)))
