# MobileViT-XXS on ImageNet-1k: ml-cvnets HEAD's MobileViT-S recipe with the
# XXS model (the arch's own transformer dropout, 0.05, comes with
# arch='xx_small').
_base_ = ['./mobilevit-small_8xb128-cvnets-head_in1k.py']

model = dict(
    backbone=dict(arch='xx_small'), head=dict(in_channels=320))
