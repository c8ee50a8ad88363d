# The peer of the demo's detection stage (tools/demo.py --with-peer):
# mmdet's own SSDLite-MobileNetV2 (the model of its shipped
# ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py) given exactly the
# treatment of SSDLite-MobileViT-XXS: the same data, 256x256 input (its
# anchors scaled from 320 to 256), schedule and pretraining on the same
# classification set (configs/peers/mobilenet-v2_1xb32_shapes.py).
_base_ = ['../ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py']
pretrain_config = 'configs/peers/mobilenet-v2_1xb32_shapes.py'
pretrained = 'work_dirs/mobilenet-v2_1xb32_shapes/epoch_2.pth'
norm_cfg = dict(type='BN', eps=0.001, momentum=0.03)
model = dict(
    _delete_=True,
    type='SingleStageDetector',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=1),
    backbone=dict(
        type='MobileNetV2',
        out_indices=(4, 7),
        norm_cfg=norm_cfg,
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(
        type='SSDNeck',
        in_channels=(96, 1280),
        out_channels=(96, 1280, 512, 256, 256, 128),
        level_strides=(2, 2, 2, 2),
        level_paddings=(1, 1, 1, 1),
        l2_norm_scale=None,
        use_depthwise=True,
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU6'),
        init_cfg=dict(type='TruncNormal', layer='Conv2d', std=0.03)),
    bbox_head=dict(
        type='SSDHead',
        in_channels=(96, 1280, 512, 256, 256, 128),
        num_classes=3,
        use_depthwise=True,
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU6'),
        init_cfg=dict(type='Normal', layer='Conv2d', std=0.001),
        # mmdet's anchors for 320 (strides 16 ... 320, sizes 48 ... 320)
        # scaled by 256 / 320 onto the 16, 8, 4, 2, 1, 1 maps of 256 px
        anchor_generator=dict(
            type='SSDAnchorGenerator',
            scale_major=False,
            strides=[16, 32, 64, 128, 256, 256],
            ratios=[[2, 3], [2, 3], [2, 3], [2, 3], [2, 3], [2, 3]],
            min_sizes=[38, 80, 120, 162, 202, 243],
            max_sizes=[80, 120, 162, 202, 243, 256]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[0.1, 0.1, 0.2, 0.2])),
    train_cfg=dict(
        assigner=dict(
            type='MaxIoUAssigner',
            pos_iou_thr=0.5,
            neg_iou_thr=0.5,
            min_pos_iou=0.,
            ignore_iof_thr=-1,
            gt_max_assign_all=False),
        sampler=dict(type='PseudoSampler'),
        smoothl1_beta=1.,
        allowed_border=-1,
        pos_weight=-1,
        neg_pos_ratio=3,
        debug=False),
    test_cfg=dict(
        nms_pre=1000,
        nms=dict(type='nms', iou_threshold=0.45),
        min_bbox_size=0,
        score_thr=0.02,
        max_per_img=200))
