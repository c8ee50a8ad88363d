# DeepLabv3-MobileViT-S at output stride 8 with a 512-wide ASPP, rates
# (12, 24, 36), and an auxiliary FCN head on stage 3 (cvnets layer_4), as in
# ml-cvnets HEAD's `config/segmentation/pascal_voc/deeplabv3_mobilevit.yaml`
# (model zoo: 8.5 M params without the auxiliary head, 79.44 mIoU):
# 4 GPUs x 16 images, gradients accumulated over 2 steps (128 images per
# update, as the paper's 4 x 32), 50 epochs of the paper's AdamW schedule,
# HEAD's augmentations, logits upsampled with align_corners=True.
# Data: VOC 2012 train + SBD aug + the COCO train2017 images with VOC classes
# (HEAD's `use_coco_data: true`; data/coco_voc, written by
#   python tools/dataset_converters/coco2voc_seg.py \
#       data/coco/annotations/instances_train2017.json \
#       data/coco/train2017 data/coco_voc --nproc 8).
# Evaluation: mmseg's protocol, as the VOC configs.
_base_ = [
    './deeplabv3_mobilevit-s-d16_4xb32-50e_voc12aug-512x512.py',
    '../_base_/datasets/cvnets_voc_seg.py',  # coco_voc_train
]
norm_cfg = _base_.norm_cfg  # of the model (SyncBN)
num_classes = _base_.num_classes  # of the data (VOC: 21)
model = dict(
    backbone=dict(out_stride=8),
    decode_head=dict(
        channels=512, dilations=(1, 12, 24, 36), align_corners=True),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=128,  # MobileViT-S stage 3 (cvnets layer_4)
        in_index=0,
        channels=128,  # cvnets: max(in_channels // 4, 128)
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=0.4,
            avg_non_ignore=True)))

# HEAD's augmentation (see cvnets_voc_seg.py)
train_pipeline = _base_.cvnets_head_train_pipeline
train_dataloader = dict(
    batch_size=16,
    dataset=dict(datasets=[
        dict(dataset, pipeline=train_pipeline) for dataset in
        [*_base_.train_dataloader.dataset.datasets, _base_.coco_voc_train]
    ]))
optim_wrapper = dict(accumulative_counts=2)
# mmengine's --auto-scale-lr compares GPUs x batch_size per step with this
# (accumulation not counted): the recipe's rates are for 4 x 16 per step.
auto_scale_lr = dict(base_batch_size=4 * 16)
