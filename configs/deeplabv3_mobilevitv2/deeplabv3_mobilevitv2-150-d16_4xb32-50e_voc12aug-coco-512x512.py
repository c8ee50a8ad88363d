# DeepLabv3-MobileViTv2-1.5 on VOC + SBD + COCO: the MobileViTv2-1.0 recipe
# with width 1.5 (layer 4: 576 channels into the auxiliary head, whose width
# is cvnets' max(576 // 4, 128) = 144; layer 5: 768 channels into the ASPP).
_base_ = './deeplabv3_mobilevitv2-100-d16_4xb32-50e_voc12aug-coco-512x512.py'
pretrained = 'checkpoints/mobilevitv2-150_in1k_mmvit.pth'
model = dict(
    backbone=dict(
        arch='1.5',
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    decode_head=dict(in_channels=768),
    auxiliary_head=dict(in_channels=576, channels=144))
