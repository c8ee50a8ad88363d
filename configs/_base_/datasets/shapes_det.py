# The generated shapes dataset (mmvit.datasets.shapes) in COCO format, for
# detection at input_size x input_size:
#   data/shapes/{train,val}/*.jpg                 images of mixed sizes
#   data/shapes/annotations/instances_{train,val}.json
# mmvit.ShapesDetDataset generates it there on first use (num_train +
# num_val images, seed 0); `tools/dataset_converters/generate_shapes.py`
# does the same. Classes: mmvit.datasets.shapes.SHAPE_CLASSES. Evaluated with
# mmdet's CocoMetric.
_base_ = 'mmdet::_base_/datasets/coco_detection.py'
dataset_type = 'mmvit.ShapesDetDataset'
data_root = 'data/shapes/'
num_train, num_val = 2400, 200
input_size = 256
train_pipeline = [
    dict(type='mmvit.LoadImageFromFileChecked'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='PackDetInputs'),
]
# mmdet's COCO test pipeline (mmcv's LoadImageFromFile by that name, which
# DetInferencer looks up; the boxes; the evaluation's meta keys) with SSD's
# fixed-size resize
test_pipeline = [
    dict(step, scale=(input_size, input_size), keep_ratio=False)
    if step['type'] == 'Resize' else step for step in _base_.test_pipeline
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    batch_sampler=None,  # every image is resized to input_size
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
