# DeepLabv3-MobileViTv2-0.5 on VOC + SBD + COCO: the MobileViTv2-1.0 recipe
# with width 0.5 (layer 4: 192 channels into the auxiliary head, whose width
# is cvnets' max(192 // 4, 128) = 128; layer 5: 256 channels into the ASPP).
_base_ = './deeplabv3_mobilevitv2-100-d16_4xb32-50e_voc12aug-coco-512x512.py'
pretrained = 'checkpoints/mobilevitv2-050_in1k_mmvit.pth'
model = dict(
    backbone=dict(
        arch='0.5',
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    decode_head=dict(in_channels=256),
    auxiliary_head=dict(in_channels=192, channels=128))
