# The generated shapes dataset (mmvit.datasets.shapes), semantic masks:
#   data/shapes/{train,val}/*.jpg           images of mixed sizes (160-416 px)
#   data/shapes/masks/{train,val}/*.png     0 background, 1..3 shapes, 255 ignore
#   data/shapes/splits/{train,val}.txt      image stems
# The dataset class generates it there on first use (2400 train + 200 val
# images, seed 0); `tools/dataset_converters/generate_shapes.py` does the same.
# Classes: 'background' + mmvit.datasets.shapes.SHAPE_CLASSES.
# mmvit.LoadImageFromFileChecked names every training image file it cannot
# use and mmvit.CheckSegMap every mask that does not fit its image or the
# classes (see mmvit/datasets/checks.py).
dataset_type = 'mmvit.ShapesSegDataset'
data_root = 'data/shapes'
num_classes = 4  # len(ShapesSegDataset.METAINFO['classes'])
crop_size = (256, 256)
train_pipeline = [
    dict(type='mmvit.LoadImageFromFileChecked'),
    dict(type='LoadAnnotations'),
    dict(type='mmvit.CheckSegMap', num_classes=num_classes),
    dict(
        type='RandomResize',
        scale=(512, 256),
        ratio_range=(0.5, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    # mmcv's loader by its name: MMSegInferencer looks it up in the test
    # pipeline
    dict(type='LoadImageFromFile'),
    # evaluated at the native size (no resize) against the original mask
    dict(type='LoadAnnotations'),
    dict(type='mmvit.CheckSegMap', num_classes=num_classes),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='train', seg_map_path='masks/train'),
        ann_file='splits/train.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='val', seg_map_path='masks/val'),
        ann_file='splits/val.txt',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
