# COCO 2017 at 320x320 with ml-cvnets' SSD augmentation (v0.1
# `data/datasets/detection/coco.py` COCODetectionSSD): crowd boxes dropped,
# cvnets' random crop (`SSDCroping`: largest IoU with a drawn threshold,
# 0.0 = no crop), photometric distortion, flip, resize. No zoom-out
# (`Expand`): cvnets' SSD recipe has none. mmdet's data layout under
# data/coco/. mmvit.CheckedCocoDataset checks the annotation files before
# training and evaluation (missing or empty image files, boxes mmdet drops or
# that leave the image) and mmvit.LoadImageFromFileChecked names every
# training image it cannot use (truncated, undecodable); see
# mmvit/datasets/checks.py.
_base_ = 'mmdet::_base_/datasets/coco_detection.py'
dataset_type = 'mmvit.CheckedCocoDataset'
input_size = 320
backend_args = None
train_pipeline = [
    dict(type='mmvit.LoadImageFromFileChecked', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='mmvit.FilterCrowdBoxes'),  # cvnets drops iscrowd boxes
    dict(type='mmvit.SSDRandomCrop'),  # cvnets' thresholds and 40 trials
    # cvnets PhotometricDistort (v0.1 defaults, p=0.5 per step): brightness
    # +-0.2*255, contrast and saturation (0.5, 1.5), hue int(U(-.05, .05) *
    # 255) OpenCV 8-bit units (2 deg) = +-24 deg, random channel swap.
    # unmapped: contrast order and P=0.75 (mmdet 0.5), uint8 clips, hue steps
    dict(
        type='PhotoMetricDistortion',
        brightness_delta=51,
        contrast_range=(0.5, 1.5),
        saturation_range=(0.5, 1.5),
        hue_delta=24),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='PackDetInputs'),
]
# mmdet's COCO test pipeline (mmcv's LoadImageFromFile by that name, which
# DetInferencer looks up; the boxes; the evaluation's meta keys) with SSD's
# fixed-size resize (the dataset checks the files beforehand)
test_pipeline = [
    dict(step, scale=(input_size, input_size), keep_ratio=False)
    if step['type'] == 'Resize' else step for step in _base_.test_pipeline
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
