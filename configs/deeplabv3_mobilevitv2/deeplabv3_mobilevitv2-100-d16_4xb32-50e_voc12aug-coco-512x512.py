# DeepLabv3-MobileViTv2-1.0 (output stride 16, ASPP 512, rates 6 / 12 / 18,
# auxiliary FCN head on layer 4) on PASCAL VOC 2012 + SBD + the COCO images
# with VOC classes, the authors' v2 recipe (ml-cvnets HEAD
# `config/segmentation/pascal_voc/deeplabv3_mobilevitv2.yaml`): 512x512
# crops of HEAD's augmentation, 4 GPUs x 32 images, 50 epochs, AdamW 5e-4
# (weight decay 0.05, none on norms and biases, the same rate for the heads),
# 500-iteration warm-up from 5e-5, cosine to 1e-6, gradient clipping at 10,
# EMA. Published: 78.94 mIoU, 13.8 M params (13.3 M without the auxiliary
# head). Evaluation: mmseg's protocol, as the other VOC configs.
# COCO part: python tools/dataset_converters/coco2voc_seg.py (README).
_base_ = [
    '../_base_/models/deeplabv3_mobilevitv2-d16.py',
    '../_base_/datasets/pascal_voc12_aug_coco.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/deeplabv3_mobilevit_adamw-50e.py',
]
log_processor = dict(by_epoch=True)  # epoch-based schedule
pretrained = 'checkpoints/mobilevitv2-100_in1k_mmvit.pth'
data_preprocessor = dict(size=_base_.crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        init_cfg=dict(
            _delete_=True,  # None in the model base
            type='Pretrained',
            checkpoint=pretrained,
            prefix='backbone.')))
train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(datasets=[
        dict(dataset, pipeline=_base_.cvnets_head_train_pipeline)
        for dataset in _base_.train_dataloader.dataset.datasets
    ]))
optim_wrapper = dict(
    optimizer=dict(lr=5e-4, weight_decay=0.05),
    paramwise_cfg=dict(
        _delete_=True, norm_decay_mult=0., bias_decay_mult=0.),
    clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=500),
    dict(
        type='CosineAnnealingLR',
        T_max=50,
        eta_min=1e-6,
        by_epoch=True,
        begin=0,
        end=50,
        convert_to_iter_based=True),
]
