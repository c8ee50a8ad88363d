# MobileViT-XS on ImageNet-1k: ml-cvnets HEAD's MobileViT-S recipe with the
# XS model.
_base_ = ['./mobilevit-small_8xb128-cvnets-head_in1k.py']

model = dict(
    backbone=dict(arch='x_small'), head=dict(in_channels=384))
