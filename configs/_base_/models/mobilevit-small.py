# MobileViT-S ImageNet classifier: mmpretrain's ImageClassifier around
# mmvit's backbone (expansion layer output, index 5), global average pooling
# and the paper's dropout + linear classifier.
# `import mmvit` applies its runtime fixes (mmvit.compat); the `mmvit.X`
# types then import their modules on first use (mmvit/registry.py). Set
# here once for every config built on this model.
custom_imports = dict(imports=['mmvit'], allow_failed_imports=False)

# The released ml-cvnets v0.1 weights were trained on OpenCV images: BGR,
# scaled to [0, 1], no mean/std normalisation.
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=1000,
        mean=[0., 0., 0.],
        std=[255., 255., 255.],
        to_rgb=False),
    backbone=dict(type='mmvit.MobileViT', arch='small', out_indices=(5, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='mmvit.DropoutLinearClsHead',
        num_classes=1000,
        in_channels=640,
        dropout_rate=0.1,
        loss=dict(
            type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1, 5)))
