# DeepLabv3-MobileViT-S on PASCAL VOC 2012 + SBD (mmseg's voc12aug layout,
# data/VOCdevkit/VOC2012), 512x512 crops, 4 GPUs x 32 images, 50 epochs.
# Paper: 6.4 M params, 79.1 mIoU (val, single scale).
# Evaluation: mmseg's protocol (short side 512 / long side <= 2048, aspect
# kept; logits resized bilinearly to the original size). The authors'
# (cvnets: 512x512 ignoring aspect, nearest back to the original size) is
# in deeplabv3_mobilevit-s-d16_4xb32-50e_voc12aug-coco-512x512.py, with
# their COCO data and augmentation (pieces: _base_/datasets/cvnets_voc_seg.py).
_base_ = [
    '../_base_/models/deeplabv3_mobilevit-s-d16.py',
    '../_base_/datasets/pascal_voc12_aug.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/deeplabv3_mobilevit_adamw-50e.py',
]
log_processor = dict(by_epoch=True)  # epoch-based schedule
# batches padded to the training crop of the data base (512x512)
data_preprocessor = dict(size=_base_.crop_size)
model = dict(data_preprocessor=data_preprocessor)
train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    # epoch-based schedule: mmseg's InfiniteSampler is for iteration loops
    sampler=dict(type='DefaultSampler', shuffle=True))
