# ml-cvnets' (v0.1) data options of the DeepLabv3-MobileViT VOC recipe, as
# pieces with names of their own (so they combine with a config that already
# has VOC datasets, see configs/_base_/datasets/pascal_voc12_aug_coco.py and
# configs/deeplabv3_mobilevit-s-d16_4xb32-50e_voc12aug-coco-512x512.py):
#
# - coco_voc_train: the COCO train2017 images with VOC classes, as VOC masks
#   (cvnets' `dataset.pascal.use_coco_data`). Written by
#     python tools/dataset_converters/coco2voc_seg.py \
#         data/coco/annotations/instances_train2017.json \
#         data/coco/train2017 data/coco_voc --nproc 8
# - cvnets_train_pipeline: short side to randint(256, 1024), aspect kept ->
#   512x512 random crop that scales a smaller image up instead of padding ->
#   horizontal flip 0.5 (no photometric distortion, no cat_max_ratio).
# - cvnets_test_pipeline: the cvnets evaluation protocol's input, resized to
#   512x512 ignoring the aspect ratio (bilinear); the label stays at the
#   original size. Use it with model type 'mmvit.ResizeModeEncoderDecoder'
#   (resize_mode='nearest'): the logits, upsampled x16 to 512x512 by the
#   head, go back to the original size by nearest neighbour, as in cvnets'
#   main_eval_seg (`--evaluation.segmentation.resize-input-images`).
coco_voc_root = 'data/coco_voc'
coco_voc_train = dict(
    type='PascalVOCDataset',
    data_root=coco_voc_root,
    data_prefix=dict(
        img_path='JPEGImages', seg_map_path='SegmentationClassCOCO'),
    ann_file='ImageSets/Segmentation/train_coco.txt')
cvnets_train_pipeline = [
    dict(type='mmvit.LoadImageFromFileChecked'),
    dict(type='LoadAnnotations'),
    dict(type='mmvit.CheckSegMap', num_classes=21),
    dict(type='mmvit.RandomShortSideResize', min_size=256, max_size=1024),
    dict(type='mmvit.RandomCropScaleUp', crop_size=(512, 512)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
cvnets_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(512, 512), keep_ratio=False),
    # the mask is loaded after the resize (evaluated at the original size)
    dict(type='LoadAnnotations'),
    dict(type='mmvit.CheckSegMap', num_classes=21),
    dict(type='PackSegInputs'),
]
