# DeepLabv3-MobileViT-S with the authors' (ml-cvnets v0.1) data, augmentation
# and evaluation: VOC 2012 train + SBD aug + the COCO train2017 images with
# VOC classes (data/coco_voc, written by
#   python tools/dataset_converters/coco2voc_seg.py \
#       data/coco/annotations/instances_train2017.json \
#       data/coco/train2017 data/coco_voc --nproc 8),
# cvnets' augmentation (short side randint(256, 1024) -> 512 crop that scales
# small images up, never pads -> flip) and cvnets' evaluation protocol: the
# input resized to 512x512 ignoring the aspect ratio, the logits upsampled
# x16 (bilinear) to 512x512 and resized to the original size by nearest
# neighbour (mmvit.ResizeModeEncoderDecoder). Model and schedule as the
# VOC config. Paper: 6.4 M params, 79.1 mIoU (val, this protocol).
_base_ = [
    './deeplabv3_mobilevit-s-d16_4xb32-50e_voc12aug-512x512.py',
    '../_base_/datasets/cvnets_voc_seg.py',
]
model = dict(type='mmvit.ResizeModeEncoderDecoder', resize_mode='nearest')
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(dataset, pipeline=_base_.cvnets_train_pipeline) for dataset in
        [*_base_.train_dataloader.dataset.datasets, _base_.coco_voc_train]
    ]))
val_dataloader = dict(dataset=dict(pipeline=_base_.cvnets_test_pipeline))
test_dataloader = val_dataloader
