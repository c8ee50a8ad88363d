# DeepLabv3 + MobileViT-S at output stride 16, as in the paper (ml-cvnets
# v0.1 `deeplabv3_mobilevit_small.yaml`): ASPP width 256, rates (6, 12, 18),
# Dropout2d 0.1, ReLU in the head (SiLU in the backbone), SyncBN.
# `import mmvit` applies its runtime fixes (mmvit.compat); the `mmvit.X`
# types then import their modules on first use (mmvit/registry.py). Set
# here once for every config built on this model.
custom_imports = dict(imports=['mmvit'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    # cvnets v0.1 reads images with OpenCV and only divides by 255:
    # the released weights expect BGR in [0, 1], no mean/std.
    mean=[0., 0., 0.],
    std=[255., 255., 255.],
    bgr_to_rgb=False,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='mmvit.MobileViT',
        arch='small',
        out_indices=(3, 4),  # stages at strides 16 and 16 (dilated) / 32
        out_stride=16,
        norm_cfg=norm_cfg,
        init_cfg=None),
    decode_head=dict(
        type='mmvit.DeepLabV3Head',
        in_channels=160,  # MobileViT-S stage 4 (cvnets layer_5)
        in_index=1,
        channels=256,
        dilations=(1, 6, 12, 18),
        dropout_ratio=0.1,
        num_classes=21,
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU'),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            avg_non_ignore=True)),  # as PyTorch's CE in cvnets
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
