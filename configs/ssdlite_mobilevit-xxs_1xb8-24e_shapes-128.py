# SSDLite-MobileViT-XXS on the generated shapes dataset (data/shapes; written
# on first use by mmvit.ShapesDetDataset, or by
# tools/dataset_converters/generate_shapes.py). The COCO model with 3
# classes, trained from scratch at 128x128 (the anchors follow the input
# size) on one CPU process, then evaluated with mmdet's CocoMetric:
#   OMP_NUM_THREADS=1 python tools/train.py \
#       configs/ssdlite_mobilevit_xxs_shapes.py
# Measured on the idle 2-core VM: 24 epochs (about 2240 iterations of 8
# images) in 7 min 20 s wall, data generation and evaluation included, bbox
# mAP 0.068 / mAP@0.5 0.175 on the 100 val images.
_base_ = './ssdlite_mobilevit-xxs_4xb32-200e_coco.py'
custom_imports = dict(
    imports=['mmvit.models', 'mmvit.datasets.shapes_detection'],
    allow_failed_imports=False)

dataset_type = 'mmvit.ShapesDetDataset'
data_root = 'data/shapes/'
max_epochs = 24
num_classes = 3

input_size = 128
norm_cfg = dict(type='BN')  # SyncBN needs GPUs, also when distributed
model = dict(
    backbone=dict(init_cfg=None, norm_cfg=norm_cfg),  # from scratch
    neck=dict(norm_cfg=norm_cfg),
    bbox_head=dict(
        norm_cfg=norm_cfg,
        num_classes=num_classes,
        anchor_generator=dict(input_size=input_size)))

train_pipeline = [
    dict(type='mmvit.LoadImageFromFileChecked'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    # mmcv's loader by its name: mmdet's DetInferencer looks it up
    # in the test pipeline (the dataset checks the files beforehand)
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=0),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_val.json',
    metric='bbox',
    format_only=False)
test_evaluator = val_evaluator

# short schedule for one CPU process: the recipe's AdamW / warm-up /
# cosine; no EMA (too short a run for it to help)
optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=1e-5,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
custom_hooks = [
    dict(type='CheckInvalidLossHook', interval=50),
    dict(type='mmvit.MidEpochResumeHook'),  # says what a resume retrains
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=8)
