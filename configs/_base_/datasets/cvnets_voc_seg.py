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
# - cvnets_head_train_pipeline: ml-cvnets HEAD's augmentation (the v2 and
#   OS8 recipes): short side U[256, 768] (long side <= 1024) -> flip -> 512
#   crop (pad image 0 / mask 255) -> photometric -> rotate +-10 degrees.
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
cvnets_head_train_pipeline = [
    dict(type='mmvit.LoadImageFromFileChecked'),
    dict(type='LoadAnnotations'),
    dict(type='mmvit.CheckSegMap', num_classes=21),
    dict(
        type='RandomResize',
        scale=[(1024, 256), (1024, 768)],
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size=(512, 512), cat_max_ratio=0.75),
    # padded before the photometric and rotation steps (as HEAD), with the
    # values the data preprocessor pads batches with (image 0, mask 255)
    dict(type='Pad', size=(512, 512), pad_val=dict(img=0, seg=255)),
    # HEAD's `random_gaussian_noise` is a PIL Gaussian blur (radius U[0, 1),
    # p 0.5); mmseg's only blur / noise transforms (BioMedicalGaussianBlur,
    # BioMedicalGaussianNoise) expect float (N, Z, Y, X) volumes: left out.
    dict(
        type='PhotoMetricDistortion',
        brightness_delta=16,  # cvnets x U[0.875, 1.125]: +-16 at mid-grey
        contrast_range=(0.5, 1.5),
        saturation_range=(0.5, 1.5),
        hue_delta=9),  # cvnets +-0.05 of the hue circle (OpenCV: 0-180)
    dict(
        type='RandomRotate', prob=1.0, degree=10, pad_val=0,
        seg_pad_val=255),
    dict(type='PackSegInputs'),
]
