# DeepLabv3 + MobileViTv2-1.0 at output stride 16, ml-cvnets HEAD
# (`config/segmentation/pascal_voc/deeplabv3_mobilevitv2.yaml`): ASPP width
# 512, rates (6, 12, 18), dropout 0.1, and an auxiliary FCN head on layer 4
# (3x3 conv to max(C4 // 4, 128) channels + norm + act, dropout 0.1, 1x1
# classifier; loss weight 0.4); ReLU in the heads, SiLU in the backbone.
# 13.764 M parameters with the auxiliary head (21 classes), 13.319 M without
# (auxiliary_head=None). Other widths: backbone.arch, decode_head.in_channels
# = C5, auxiliary_head.in_channels = C4 and auxiliary_head.channels =
# max(C4 // 4, 128) (ml-cvnets' rule; 144, 168, 192 at widths 1.5, 1.75,
# 2.0), with (C4, C5) = MobileViTv2.arch_out_channels(arch, (3, 4)).
# BGR input in [0, 1], as every mmvit model (see mobilevitv2.py).
_base_ = ['./deeplabv3_mobilevit-s-d16.py']
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmvit.MobileViTv2',
        arch='1.0',
        out_indices=(3, 4),  # strides 16 and 16 (dilated): 384, 512 channels
        out_stride=16,
        norm_cfg=norm_cfg,
        init_cfg=None),
    decode_head=dict(in_channels=512, channels=512),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=384,  # layer 4 (cvnets `out_l4`)
        in_index=0,
        channels=128,  # max(384 // 4, 128)
        num_convs=1,
        kernel_size=3,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=21,
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU'),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=0.4,
            avg_non_ignore=True)))
