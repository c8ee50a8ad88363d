# MobileViTv2-1.0 ImageNet classifier: mmpretrain's ImageClassifier around
# mmvit's backbone (stage 4, 512 channels: v2 has no expansion layer), global
# average pooling and a linear classifier (ml-cvnets v2: pool -> Linear, no
# dropout). Other widths: backbone.arch='0.5' ... '2.0' and head.in_channels
# = MobileViTv2.arch_out_channels(arch, (4, ))[0].
custom_imports = dict(imports=['mmvit'], allow_failed_imports=False)

# mmvit's models take BGR images in [0, 1] (no mean/std). ml-cvnets HEAD, the
# v2 release, trained on RGB: its converters (mmvit.converters.cvnets_v2 and
# timm_v2) reverse the stem's input channels, so the converted weights take
# BGR like every other mmvit model.
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=1000,
        mean=[0., 0., 0.],
        std=[255., 255., 255.],
        to_rgb=False),
    backbone=dict(type='mmvit.MobileViTv2', arch='1.0', out_indices=(4, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='mmvit.DropoutLinearClsHead',
        num_classes=1000,
        in_channels=512,
        dropout_rate=0.,
        loss=dict(
            type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1, 5)))
