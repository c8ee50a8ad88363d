# SSDLite-MobileViT-S fine-tuned on your own detection data in COCO format,
# with the COCO recipe (320x320, cvnets' SSD augmentation, AdamW, EMA, mmdet's
# CocoMetric; see the _base_ config). What your data changes:
#
# 1. `classes`: the category names of your annotation files. mmdet keeps the
#    categories with these names (others are ignored) and numbers the labels
#    in this order; `palette` colours them in drawings.
# 2. The head's `num_classes`: derived from `classes` below.
# 3. The paths: `data_root` holding
#        annotations/instances_train.json    annotations/instances_val.json
#        train/*.jpg                          val/*.jpg
#    (each json's `file_name`s are relative to its image folder).
# 4. Where the weights start (checkpoints written by
#    tools/model_converters/mobilevit2mmvit.py, README "Weight conversion"):
#    - the converted COCO detector, `load_from` below (the default): every
#      layer is loaded except the class predictors `bbox_head.cls_convs.*`,
#      whose outputs (anchors x (classes + 1)) no longer fit. mmengine loads
#      each key whose shape matches, leaves the others as the head
#      initialised them and prints (on the console, not in the log file)
#      "The model and loaded state dict do not match exactly" with a line
#      "size mismatch for bbox_head.cls_convs.0.weight: ..." per such key
#      (twice: for the model and for its EMA copy, which takes the model's
#      weights at its first update); tests/test_configs/test_custom_data.py
#      checks exactly this.
#    - the converted ImageNet classifier (backbone only): set
#          load_from = None
#          model = dict(backbone=dict(init_cfg=dict(
#              type='Pretrained', checkpoint=imagenet_checkpoint,
#              prefix='backbone.')), ...)
#
#   CONFIG=configs/ssdlite_mobilevit/ssdlite_mobilevit-s_finetune_custom-coco.py
#   python tools/train.py $CONFIG   # 4 GPUs: bash tools/dist_train.sh $CONFIG 4
#
# The schedule is the COCO recipe's (200 epochs, learning rate for a total
# batch of 4 x 32; `--auto-scale-lr` rescales it for another batch). For a
# shorter run set `train_cfg.max_epochs` and the cosine's `T_max` and `end`
# (param_scheduler[1]) to the same number of epochs.
_base_ = './ssdlite_mobilevit-s_4xb32-200e_coco.py'

classes = ('cat', 'dog')
palette = [(220, 20, 60), (0, 130, 60)]
metainfo = dict(classes=classes, palette=palette)
num_classes = len(classes)

data_root = 'data/custom_coco/'
coco_checkpoint = 'checkpoints/ssdlite_mobilevit-s_coco_mmvit.pth'
imagenet_checkpoint = 'checkpoints/mobilevit-small_in1k_mmvit.pth'

load_from = coco_checkpoint
model = dict(
    # the COCO detector's backbone comes with load_from
    backbone=dict(init_cfg=None),
    bbox_head=dict(num_classes=num_classes))

train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        metainfo=metainfo))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        metainfo=metainfo))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
