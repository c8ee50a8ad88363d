# SSDLite-MobileViT-S on COCO 2017 at 320x320, the paper's recipe (4 GPUs x
# 32 images, 200 epochs, AdamW, EMA, SyncBN). Paper: 5.7 M params, 27.7 mAP.
#
# The backbone starts from the ImageNet-1k MobileViT-S weights of ml-cvnets,
# converted to mmvit's names (see README, "Weight conversion") and saved at
# `pretrained` below. Training stops with "<path> can not be found" if the
# file is missing; to train from scratch add
#   --cfg-options model.backbone.init_cfg=None
_base_ = [
    '../_base_/models/ssdlite_mobilevit-s.py',
    '../_base_/datasets/coco_detection_ssd-320.py',
    # the recipe's schedule on mmdet's default runtime
    '../_base_/schedules/ssdlite_mobilevit_adamw-200e.py',
]
pretrained = 'checkpoints/mobilevit-small_in1k_mmvit.pth'
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')))
