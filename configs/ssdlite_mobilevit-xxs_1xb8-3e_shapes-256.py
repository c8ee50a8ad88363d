# Stage 2 of the embedded demo (tools/demo.py): SSDLite-MobileViT-XXS
# fine-tuned on the generated shapes detection data (data/shapes: 2400 train
# + 200 val images, written on first use by mmvit.ShapesDetDataset) from
# the backbone pretrained on the shapes classification set, as the paper
# fine-tunes from ImageNet weights; evaluated with mmdet's CocoMetric:
#   python tools/train.py configs/mobilevit/mobilevit-xxsmall_1xb32_shapes.py
#   python tools/train.py configs/ssdlite_mobilevit_xxs_shapes.py
# The COCO model with 3 classes at 256x256, where the SSDLite anchors match
# the objects (at 128 px half of them have no anchor with IoU >= 0.5); plain
# BN for one CPU process.
_base_ = './ssdlite_mobilevit-xxs_4xb32-200e_coco.py'
custom_imports = dict(
    imports=['mmvit.models', 'mmvit.datasets'], allow_failed_imports=False)

dataset_type = 'mmvit.ShapesDetDataset'
data_root = 'data/shapes/'
num_train, num_val = 2400, 200
max_epochs = 3
num_classes = 3
input_size = 256
# written by stage 1 (the demo passes its own path)
pretrain_config = 'configs/mobilevit/mobilevit-xxsmall_1xb32_shapes.py'
pretrained = 'work_dirs/mobilevit-xxsmall_1xb32_shapes/epoch_2.pth'

norm_cfg = dict(type='BN')  # SyncBN needs GPUs, also when distributed
model = dict(
    backbone=dict(
        norm_cfg=norm_cfg,
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            checkpoint=pretrained,
            prefix='backbone.')),
    neck=dict(norm_cfg=norm_cfg),
    bbox_head=dict(
        norm_cfg=norm_cfg,
        num_classes=num_classes,
        anchor_generator=dict(input_size=input_size),
        # cvnets' Xavier init, but the box / class predictors start near 0
        # (mmdet's SSD init, std 0.001): predictions begin at the anchors
        # and a uniform class prior, so the first ~150 of 837 iterations
        # are not spent unlearning random outputs (loss_cls over the first
        # 20 iterations: 17.0 with Xavier, 5.6 with this)
        init_cfg=[
            dict(
                type='Xavier', layer='Conv2d', distribution='uniform',
                bias=0),
            dict(
                type='Normal',
                std=0.001,
                bias=0,
                override=[dict(name='cls_convs'),
                          dict(name='reg_convs')])
        ]))

train_pipeline = [
    dict(type='mmvit.LoadImageFromFileChecked'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    # mmcv's loader by its name: DetInferencer looks it up in the test
    # pipeline
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
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=0),
        pipeline=train_pipeline,
        num_train=num_train,
        num_val=num_val))
val_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        test_mode=True,
        pipeline=test_pipeline,
        num_train=num_train,
        num_val=num_val))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_val.json',
    metric='bbox',
    format_only=False)
test_evaluator = val_evaluator

# the recipe (AdamW, warm-up, cosine) squeezed into ~840 iterations; no EMA
# (too short a run for it to help)
optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
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
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=8)
