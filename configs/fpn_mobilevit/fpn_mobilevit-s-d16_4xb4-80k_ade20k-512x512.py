# fpn_mobilevit-s_4xb4-80k_ade20k-512x512.py at output stride 16: the last
# MobileViT stage runs at stride 1 with dilation 2 (ml-cvnets' rule), so the
# FPN levels are at strides 4, 8, 16, 16. Not trained here: no metric is
# claimed.
_base_ = './fpn_mobilevit-s_4xb4-80k_ade20k-512x512.py'
model = dict(
    backbone=dict(out_stride=16),
    # FPNHead upsamples each level from its stride to the first level's
    decode_head=dict(feature_strides=[4, 8, 16, 16]))
