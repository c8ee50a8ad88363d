# upernet_mobilevit-s_4xb4-80k_ade20k-512x512.py at output stride 16: the
# last MobileViT stage runs at stride 1 with dilation 2 (ml-cvnets' rule),
# so UPerHead fuses levels at strides 4, 8, 16, 16 (its pyramid pooling then
# sees a 2x larger last map). Not trained here: no metric is claimed.
_base_ = './upernet_mobilevit-s_4xb4-80k_ade20k-512x512.py'
model = dict(backbone=dict(out_stride=16))
