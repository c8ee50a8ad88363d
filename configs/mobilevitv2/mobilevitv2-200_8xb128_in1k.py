# MobileViTv2-2.0 on ImageNet-1k: the MobileViTv2-1.0 recipe with width 2.0.
_base_ = ['./mobilevitv2-100_8xb128_in1k.py']

model = dict(backbone=dict(arch='2.0'), head=dict(in_channels=1024))
