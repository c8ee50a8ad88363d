# SSDLite-MobileViT-S for 320x320 inputs, faithful to ml-cvnets
# (`config/detection/ssd_mobilevit_small_320.yaml`, `cvnets/models/detection/
# ssd.py`): backbone maps at strides 16 and 32 (layers 4 and 5, before the
# expansion layer), three separable stride-2 extra levels (256, 128, 128
# channels) and a global level (64), per-level 1x1 projections to
# (512, 256, 256, 128, 128, 64) and separable box / class predictors.
# 80 COCO classes: 5.739 M parameters. SiLU in the backbone, ReLU elsewhere.
# `import mmvit` applies its runtime fixes (mmvit.compat); the `mmvit.X`
# types then import their modules on first use (mmvit/registry.py). Set
# here once for every config built on this model.
custom_imports = dict(imports=['mmvit'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN')  # plain BN when not distributed (mmengine)
model = dict(
    type='SingleStageDetector',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        # The released ml-cvnets v0.1 ImageNet weights were trained on
        # OpenCV images: BGR, scaled to [0, 1], no mean/std normalisation.
        mean=[0., 0., 0.],
        std=[255., 255., 255.],
        bgr_to_rgb=False,
        pad_size_divisor=1),
    backbone=dict(
        type='mmvit.MobileViT',
        arch='small',
        out_indices=(3, 4),  # strides 16 and 32: 128 and 160 channels
        norm_cfg=norm_cfg),
    neck=dict(
        type='mmvit.SSDLiteNeck',
        in_channels=(128, 160),
        extra_channels=(256, 128, 128),
        global_channels=64,
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU')),
    bbox_head=dict(
        type='mmvit.SSDLiteHead',
        num_classes=80,
        in_channels=(128, 160, 256, 128, 128, 64),
        proj_channels=(512, 256, 256, 128, 128, 64),
        kernel_sizes=(3, 3, 3, 3, 3, 1),
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU'),
        anchor_generator=dict(
            type='mmvit.SSDLiteAnchorGenerator',
            input_size=320,
            output_strides=(16, 32, 64, 128, 256, -1),
            ratios=([2, 3], [2, 3], [2, 3], [2, 3], [2, 3], [2]),
            scale_range=(0.1, 1.05),
            clip=True),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[0., 0., 0., 0.],
            target_stds=[0.1, 0.1, 0.2, 0.2])),
    train_cfg=dict(
        assigner=dict(
            type='MaxIoUAssigner',
            pos_iou_thr=0.5,
            neg_iou_thr=0.5,
            min_pos_iou=0.,  # every object keeps its best anchor
            ignore_iof_thr=-1,
            gt_max_assign_all=False),
        sampler=dict(type='PseudoSampler'),
        smoothl1_beta=1.,
        allowed_border=-1,
        pos_weight=-1,
        neg_pos_ratio=3,
        debug=False),
    test_cfg=dict(
        # cvnets HEAD (`ssd.py`, top_k=400): each class's 400 best anchors
        # over score_thr go to NMS; this replaces the per-level nms_pre
        nms_pre_per_class=400,
        nms_pre=1000,
        nms=dict(type='nms', iou_threshold=0.5),
        min_bbox_size=0,
        score_thr=0.01,
        max_per_img=200))
