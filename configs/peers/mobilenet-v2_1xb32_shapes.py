# The peer of the demo's pretraining stage (tools/demo.py --with-peer):
# the classifier of mmpretrain's shipped mobilenet_v2/mobilenet-v2_8xb32_in1k.py
# (RGB mean/std inputs, MobileNetV2 1.0, global pooling, linear head,
# cross-entropy) trained exactly as MobileViT-XXS is: same generated set,
# pipeline, multi-scale sampler and schedule. The backbone is mmdet's
# MobileNetV2 (the same network as mmpretrain's, under other parameter
# names), so that mmdet's SSDLite-MobileNetV2 loads every weight of it.
_base_ = ['../mobilevit/mobilevit-xxsmall_1xb32_shapes.py']
num_classes = 4
model = dict(
    _delete_=True,
    type='ImageClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=num_classes,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='mmdet.MobileNetV2', widen_factor=1.0, out_indices=(7, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=num_classes,
        in_channels=1280,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))
