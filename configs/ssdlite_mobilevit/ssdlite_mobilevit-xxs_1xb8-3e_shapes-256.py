# Stage 2 of the embedded demo (tools/demo.py): SSDLite-MobileViT-XXS
# fine-tuned on the generated shapes detection data (data/shapes: 2400 train
# + 200 val images, written on first use by mmvit.ShapesDetDataset) from
# the backbone pretrained on the shapes classification set, as the paper
# fine-tunes from ImageNet weights; evaluated with mmdet's CocoMetric:
#   python tools/train.py configs/mobilevit/mobilevit-xxsmall_1xb32_shapes.py
#   python tools/train.py configs/ssdlite_mobilevit_xxs_shapes.py
# The COCO model (ssdlite_mobilevit-xxs_4xb32-200e_coco.py: the same model
# base) with 3 classes at 256x256, where the SSDLite anchors match the
# objects (at 128 px half of them have no anchor with IoU >= 0.5); plain BN
# for one CPU process.
_base_ = [
    '../_base_/models/ssdlite_mobilevit-s.py',
    '../_base_/datasets/shapes_det.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/schedules/shapes_demo.py',
]

max_epochs = 3
num_classes = 3
input_size = _base_.input_size  # of the data (shapes_det.py)
# written by stage 1 (the demo passes its own path)
pretrain_config = 'configs/mobilevit/mobilevit-xxsmall_1xb32_shapes.py'
pretrained = 'work_dirs/mobilevit-xxsmall_1xb32_shapes/epoch_2.pth'

norm_cfg = dict(type='BN')  # SyncBN needs GPUs, also when distributed
model = dict(
    backbone=dict(
        arch='xx_small',
        norm_cfg=norm_cfg,
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    # the XXS channels, as in ssdlite_mobilevit-xxs_4xb32-200e_coco.py
    neck=dict(in_channels=(64, 80), norm_cfg=norm_cfg),
    bbox_head=dict(
        in_channels=(64, 80, 256, 128, 128, 64),
        norm_cfg=norm_cfg,
        num_classes=num_classes,
        anchor_generator=dict(input_size=input_size),
        # cvnets' Xavier init, but the box / class predictors start near 0
        # (mmdet's SSD init, std 0.001): predictions begin at the anchors
        # and a uniform class prior, so the first ~150 of 837 iterations
        # are not spent unlearning random outputs (loss_cls over the first
        # 20 iterations: 17.0 with Xavier, 5.6 with this)
        init_cfg=[
            dict(
                type='Xavier', layer='Conv2d', distribution='uniform',
                bias=0),
            dict(
                type='Normal',
                std=0.001,
                bias=0,
                override=[dict(name='cls_convs'),
                          dict(name='reg_convs')])
        ]))

# the recipe (AdamW, warm-up, cosine) squeezed into ~840 iterations; no EMA
# (too short a run for it to help)
optim_wrapper = _base_.shapes_demo.optim_wrapper
param_scheduler = [
    _base_.shapes_demo.warmup,
    dict(
        _base_.shapes_demo.cosine,
        T_max=max_epochs,
        eta_min=1e-5,
        end=max_epochs),
]
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
custom_hooks = [
    _base_.shapes_demo.check_invalid_loss_hook,
    _base_.shapes_demo.mid_epoch_resume_hook,
]
default_hooks = dict(
    logger=_base_.shapes_demo.logger,
    # best-mAP bookkeeping of the COCO config
    checkpoint=dict(
        _base_.shapes_demo.checkpoint,
        interval=max_epochs,
        save_best='coco/bbox_mAP',
        rule='greater'))
# the learning rate is for this batch; `--auto-scale-lr` rescales it
auto_scale_lr = dict(enable=False, base_batch_size=8)
