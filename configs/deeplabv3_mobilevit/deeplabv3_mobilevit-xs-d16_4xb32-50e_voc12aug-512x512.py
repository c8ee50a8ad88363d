# DeepLabv3-MobileViT-XS, same recipe as S. Paper: 2.9 M params, 77.1 mIoU.
# Evaluation: mmseg's protocol, as S (the authors' is in the -coco S config).
_base_ = './deeplabv3_mobilevit-s-d16_4xb32-50e_voc12aug-512x512.py'
model = dict(backbone=dict(arch='x_small'), decode_head=dict(in_channels=96))
