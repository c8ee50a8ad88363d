# DeepLabv3-MobileViTv2-2.0 on ADE20K: the MobileViTv2-1.0 recipe with width
# 2.0 (layer 4: 768 channels into the auxiliary head, whose width is cvnets'
# max(768 // 4, 128) = 192; layer 5: 1024 channels into the ASPP).
# Published: 40.94 mIoU.
_base_ = './deeplabv3_mobilevitv2-100-d8_4xb4-120e_ade20k-512x512.py'
pretrained = 'checkpoints/mobilevitv2-200_in1k_mmvit.pth'
model = dict(
    backbone=dict(
        arch='2.0',
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    decode_head=dict(in_channels=1024),
    auxiliary_head=dict(in_channels=768, channels=192))
