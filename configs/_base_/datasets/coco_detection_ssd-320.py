# COCO 2017 at 320x320 with SSD-style augmentation (ml-cvnets
# `coco_ssd.py`: min-IoU random crop, photometric distortion, flip, resize;
# plus mmdet's SSD zoom-out `Expand`). mmdet's data layout under data/coco/.
# mmvit.CheckedCocoDataset checks the annotation files before training and
# evaluation (missing or empty image files, boxes mmdet drops or that leave
# the image) and mmvit.LoadImageFromFileChecked names every training image
# it cannot use (truncated, undecodable); see mmvit/datasets/checks.py.
_base_ = 'mmdet::_base_/datasets/coco_detection.py'
dataset_type = 'mmvit.CheckedCocoDataset'
input_size = 320
backend_args = None
train_pipeline = [
    dict(type='mmvit.LoadImageFromFileChecked', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='Expand',
        mean=[103.53, 116.28, 123.675],  # ImageNet mean, BGR
        to_rgb=False,
        ratio_range=(1, 4),
        prob=0.5),
    dict(
        type='MinIoURandomCrop',
        min_ious=(0.1, 0.3, 0.5, 0.7, 0.9),
        min_crop_size=0.3),
    dict(
        type='PhotoMetricDistortion',
        brightness_delta=32,
        contrast_range=(0.5, 1.5),
        saturation_range=(0.5, 1.5),
        hue_delta=18),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    # mmcv's loader by its name: mmdet's DetInferencer looks it up
    # in the test pipeline (the dataset checks the files beforehand)
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    batch_sampler=None,  # every image is resized to 320x320
    dataset=dict(
        type=dataset_type,
        # ml-cvnets trains on the images that have annotations
        filter_cfg=dict(filter_empty_gt=True, min_size=0),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    dataset=dict(type=dataset_type, pipeline=test_pipeline))
test_dataloader = val_dataloader
