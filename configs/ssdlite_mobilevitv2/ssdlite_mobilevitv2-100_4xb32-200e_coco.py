# SSDLite-MobileViTv2-1.0 on COCO 2017 at 320x320, the authors' v2 recipe
# (ml-cvnets HEAD `config/detection/ssd_coco/mobilevit_v2.yaml`): the v1
# detection recipe (4 GPUs x 32 images, 200 epochs, cvnets' SSD augmentation,
# AdamW 9e-4 with a 500-iteration warm-up and cosine decay, EMA, SyncBN) with
# weight decay 0.05 on every parameter. Published: 26.47 mAP, 5.6 M params.
#
# The backbone starts from the converted ImageNet-1k MobileViTv2-1.0 weights
# (README, "Weight conversion") saved at `pretrained`; to train from scratch
# add --cfg-options model.backbone.init_cfg=None
_base_ = [
    '../_base_/models/ssdlite_mobilevitv2.py',
    '../_base_/datasets/coco_detection_ssd-320.py',
    # the recipe's schedule on mmdet's default runtime
    '../_base_/schedules/ssdlite_mobilevit_adamw-200e.py',
]
pretrained = 'checkpoints/mobilevitv2-100_in1k_mmvit.pth'
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')))
optim_wrapper = dict(optimizer=dict(weight_decay=0.05))
