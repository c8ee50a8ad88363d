# DeepLabv3-MobileViT-XXS, same recipe as S. Paper: 1.9 M params, 73.6 mIoU.
# Evaluation: mmseg's protocol, as S (the authors' is in the -coco S config).
_base_ = './deeplabv3_mobilevit-s-d16_4xb32-50e_voc12aug-512x512.py'
model = dict(backbone=dict(arch='xx_small'), decode_head=dict(in_channels=80))
