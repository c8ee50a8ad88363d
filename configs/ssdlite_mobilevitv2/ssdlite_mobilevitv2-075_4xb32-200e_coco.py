# SSDLite-MobileViTv2-0.75 on COCO 2017 at 320x320: the MobileViTv2-1.0 recipe
# with width 0.75 (backbone maps of 288 and 384 channels at strides 16 and
# 32 feed the neck and the first two head levels).
_base_ = './ssdlite_mobilevitv2-100_4xb32-200e_coco.py'
pretrained = 'checkpoints/mobilevitv2-075_in1k_mmvit.pth'
model = dict(
    backbone=dict(
        arch='0.75',
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(in_channels=(288, 384)),
    bbox_head=dict(in_channels=(288, 384, 256, 128, 128, 64)))
