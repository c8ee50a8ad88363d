# SSDLite-MobileViT-S on COCO 2017, the recipe of
# ssdlite_mobilevit-s_4xb32-200e_coco.py (4 GPUs x 32 images at 320x320,
# 200 epochs, AdamW, EMA, SyncBN) trained with MobileViT's multi-scale
# variable-batch sampler (paper Sec. 4; README, "Multi-scale variable-batch
# sampler"): every batch draws one input size from 256, 320 and 384 and
# keeps the pixels of 32 images at 320x320, (h, w, images per GPU) =
# (256, 256, 50) (320, 320, 32) (384, 384, 22). Evaluation stays at 320x320.
# The anchors follow the input size (mmvit.SSDLiteAnchorGenerator lays them
# out relative to the image, as ml-cvnets does).
#
# The switch from the fixed-size config, in three parts:
# - the pipeline's resize runs at the sampled size (mmvit.SampledSizeTransform;
#   mmdet's Resize takes scale=(w, h): size_order='wh');
# - mmvit.MultiScaleDataset wraps the dataset and hands the size to the
#   pipeline, mmvit.MultiScaleVariableBatchSampler draws it per batch;
# - mmvit.MidEpochResumeHook makes `--resume` from the middle of an epoch
#   exact.
_base_ = './ssdlite_mobilevit-s_4xb32-200e_coco.py'
train_pipeline = [
    dict(
        type='mmvit.SampledSizeTransform',
        transform=step,
        size_arg='scale',
        size_order='wh') if step['type'] == 'Resize' else step
    for step in _base_.train_pipeline
]
train_dataloader = dict(
    batch_sampler=dict(
        _delete_=True,  # the base's is None (every image at 320x320)
        type='mmvit.MultiScaleVariableBatchSampler',
        base_size=_base_.input_size,  # batch_size (32) is for this size
        min_size=256,
        max_size=384,
        num_scales=3),
    dataset=dict(
        _delete_=True,
        type='mmvit.MultiScaleDataset',
        dataset=dict(_base_.train_dataloader.dataset,
                     pipeline=train_pipeline)))
custom_hooks = [*_base_.custom_hooks, dict(type='mmvit.MidEpochResumeHook')]
