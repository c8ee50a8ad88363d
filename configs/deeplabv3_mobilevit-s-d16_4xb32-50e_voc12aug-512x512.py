# DeepLabv3-MobileViT-S on PASCAL VOC 2012 + SBD (mmseg's voc12aug layout,
# data/VOCdevkit/VOC2012), 512x512 crops, 4 GPUs x 32 images, 50 epochs.
# Paper: 6.4 M params, 79.1 mIoU (val, single scale).
_base_ = [
    './_base_/models/deeplabv3_mobilevit-s-d16.py',
    './_base_/datasets/pascal_voc12_aug.py',
    'mmseg::_base_/default_runtime.py',
    './_base_/schedules/deeplabv3_mobilevit_adamw-50e.py',
]
log_processor = dict(by_epoch=True)  # epoch-based schedule
custom_imports = dict(
    imports=['mmvit.models', 'mmvit.datasets'], allow_failed_imports=False)
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    # epoch-based schedule: mmseg's InfiniteSampler is for iteration loops
    sampler=dict(type='DefaultSampler', shuffle=True))
