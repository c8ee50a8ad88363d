# DeepLabv3-MobileViT-S (output stride 16) fine-tuned on your own semantic
# segmentation data in mmseg's folder layout, with the VOC recipe (512x512
# crops, AdamW, EMA, head lr x10, mmseg's IoUMetric; see the _base_ config).
# What your data changes:
#
# 1. `classes` (and `palette`, one colour per class): the names of the mask
#    values 0, 1, 2, ... in order.
# 2. `reduce_zero_label`: False when 0 is a class of its own (here
#    'background', as in VOC); True when 0 marks unlabelled pixels (as in
#    ADE20K): mmseg then maps 0 to 255 (ignored) and k to k - 1, and
#    `classes` names the values 1, 2, ... Pixels of value 255 are ignored
#    either way.
# 3. The head's `num_classes` and mmvit's mask check (`mmvit.CheckSegMap`):
#    derived from `classes` below.
# 4. The paths: `data_root` holding
#        img_dir/train/*.jpg    ann_dir/train/*.png
#        img_dir/val/*.jpg      ann_dir/val/*.png
#    (a mask has its image's name with `.png` and its image's size: one
#    channel of class indices, not colours).
# 5. Where the weights start (checkpoints written by
#    tools/model_converters/mobilevit2mmvit.py, README "Weight conversion"):
#    - the converted VOC segmentor, `load_from` below (the default): every
#      layer is loaded except the classifier `decode_head.conv_seg`, whose
#      21 VOC outputs no longer fit. mmengine loads each key whose shape
#      matches, leaves the others as the head initialised them and prints
#      (on the console, not in the log file) "The model and loaded state
#      dict do not match exactly" with a line "size mismatch for
#      decode_head.conv_seg.weight: ..." per such key (twice: for the model
#      and for its EMA copy, which takes the model's weights at its first
#      update); tests/test_configs/test_custom_data.py checks exactly this.
#    - the converted ImageNet classifier (backbone only): set
#          load_from = None
#          model = dict(backbone=dict(init_cfg=dict(
#              type='Pretrained', checkpoint=imagenet_checkpoint,
#              prefix='backbone.')), ...)
#
#   CONFIG=configs/deeplabv3_mobilevit/deeplabv3_mobilevit-s-d16_finetune_custom-seg.py
#   python tools/train.py $CONFIG   # 4 GPUs: bash tools/dist_train.sh $CONFIG 4
#
# The schedule is the VOC recipe's (50 epochs, learning rate for a total
# batch of 4 x 32; `--auto-scale-lr` rescales it for another batch). For a
# shorter run set `train_cfg.max_epochs` and the cosine's `T_max` and `end`
# (param_scheduler[1]) to the same number of epochs.
_base_ = './deeplabv3_mobilevit-s-d16_4xb32-50e_voc12aug-512x512.py'

classes = ('background', 'cat', 'dog')
palette = [(0, 0, 0), (220, 20, 60), (0, 130, 60)]
metainfo = dict(classes=classes, palette=palette)
num_classes = len(classes)
reduce_zero_label = False

data_root = 'data/custom_seg'
voc_checkpoint = 'checkpoints/deeplabv3_mobilevit-s_voc_mmvit.pth'
imagenet_checkpoint = 'checkpoints/mobilevit-small_in1k_mmvit.pth'

load_from = voc_checkpoint
model = dict(decode_head=dict(num_classes=num_classes))

# the VOC pipelines, with the mask check for these classes
train_pipeline = [
    dict(step, num_classes=num_classes)
    if step['type'] == 'mmvit.CheckSegMap' else step
    for step in _base_.train_pipeline
]
test_pipeline = [
    dict(step, num_classes=num_classes)
    if step['type'] == 'mmvit.CheckSegMap' else step
    for step in _base_.test_pipeline
]
custom_dataset = dict(
    type='BaseSegDataset',
    data_root=data_root,
    img_suffix='.jpg',
    seg_map_suffix='.png',
    metainfo=metainfo,
    reduce_zero_label=reduce_zero_label)
train_dataloader = dict(
    dataset=dict(
        custom_dataset,
        _delete_=True,  # the VOC train + aug concatenation
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        custom_dataset,
        _delete_=True,  # VOC's split file
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
