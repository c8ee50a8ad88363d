# MobileViTv2-0.75 on ImageNet-1k: the MobileViTv2-1.0 recipe with width 0.75.
_base_ = ['./mobilevitv2-100_8xb128_in1k.py']

model = dict(backbone=dict(arch='0.75'), head=dict(in_channels=384))
