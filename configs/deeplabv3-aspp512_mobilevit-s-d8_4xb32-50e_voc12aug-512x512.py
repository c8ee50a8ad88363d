# DeepLabv3-MobileViT-S at output stride 8 with a 512-wide ASPP, rates
# (12, 24, 36), and an auxiliary FCN head on stage 3 (cvnets layer_4), as in
# ml-cvnets' later `pascal_voc/deeplabv3_mobilevit.yaml` (model zoo: 8.5 M
# params without the auxiliary head, 79.44 mIoU). Data and schedule as the
# paper's config.
_base_ = './deeplabv3_mobilevit-s-d16_4xb32-50e_voc12aug-512x512.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(out_stride=8),
    decode_head=dict(channels=512, dilations=(12, 24, 36)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=128,  # MobileViT-S stage 3 (cvnets layer_4)
        in_index=0,
        channels=128,  # cvnets: max(in_channels // 4, 128)
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=21,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=0.4,
            avg_non_ignore=True)))
