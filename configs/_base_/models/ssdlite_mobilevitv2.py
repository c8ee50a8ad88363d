# SSDLite-MobileViTv2-1.0 for 320x320 inputs, ml-cvnets HEAD
# (`config/detection/ssd_coco/mobilevit_v2.yaml`): the v1 detector of
# ssdlite_mobilevit-s.py (extra levels 256, 128, 128 + a global level 64,
# projections to 512, 256, 256, 128, 128, 64, anchors, assigner, NMS) on the
# v2 backbone's maps at strides 16 and 32 (layers 4 and 5: 384 and 512
# channels at width 1.0). 80 COCO classes: 5.608 M parameters. Other widths:
# backbone.arch and the first two entries of neck.in_channels and
# bbox_head.in_channels (MobileViTv2.arch_out_channels(arch, (3, 4))).
# BGR input in [0, 1], as every mmvit model (see mobilevitv2.py).
_base_ = ['./ssdlite_mobilevit-s.py']
norm_cfg = dict(type='SyncBN')  # plain BN when not distributed (mmengine)
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmvit.MobileViTv2',
        arch='1.0',
        out_indices=(3, 4),  # strides 16 and 32: 384 and 512 channels
        norm_cfg=norm_cfg),
    neck=dict(in_channels=(384, 512)),
    bbox_head=dict(in_channels=(384, 512, 256, 128, 128, 64)))
