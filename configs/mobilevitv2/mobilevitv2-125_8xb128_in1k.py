# MobileViTv2-1.25 on ImageNet-1k: the MobileViTv2-1.0 recipe with width 1.25.
_base_ = ['./mobilevitv2-100_8xb128_in1k.py']

model = dict(backbone=dict(arch='1.25'), head=dict(in_channels=640))
