# PASCAL VOC 2012 + SBD (mmseg's voc12aug layout, data/VOCdevkit/VOC2012):
# mmseg's dataset settings, with the loading checked:
# mmvit.LoadImageFromFileChecked names every training image file it cannot
# use (empty, truncated, undecodable) and mmvit.CheckSegMap every mask that
# does not fit its image or the 21 classes (see mmvit/datasets/checks.py).
_base_ = 'mmseg::_base_/datasets/pascal_voc12_aug.py'
dataset_type = 'PascalVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
num_classes = 21  # len(PascalVOCDataset.METAINFO['classes'])
crop_size = (512, 512)
train_pipeline = [
    dict(type='mmvit.LoadImageFromFileChecked'),
    dict(type='LoadAnnotations'),
    dict(type='mmvit.CheckSegMap', num_classes=num_classes),
    dict(
        type='RandomResize',
        scale=(2048, 512),
        ratio_range=(0.5, 2.0),
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
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    # the mask is loaded after the resize (evaluated at the original size)
    dict(type='LoadAnnotations'),
    dict(type='mmvit.CheckSegMap', num_classes=num_classes),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(
            type=dataset_type,
            data_root=data_root,
            data_prefix=dict(
                img_path='JPEGImages', seg_map_path='SegmentationClass'),
            ann_file='ImageSets/Segmentation/train.txt',
            pipeline=train_pipeline),
        dict(
            type=dataset_type,
            data_root=data_root,
            data_prefix=dict(
                img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
            ann_file='ImageSets/Segmentation/aug.txt',
            pipeline=train_pipeline),
    ]))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
