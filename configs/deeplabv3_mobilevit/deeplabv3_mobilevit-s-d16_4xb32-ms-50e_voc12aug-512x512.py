# DeepLabv3-MobileViT-S on PASCAL VOC 2012 + SBD, the recipe of
# deeplabv3_mobilevit-s-d16_4xb32-50e_voc12aug-512x512.py (4 GPUs x 32
# crops of 512x512, 50 epochs, AdamW, EMA, SyncBN) trained with MobileViT's
# multi-scale variable-batch sampler (paper Sec. 4; README, "Multi-scale
# variable-batch sampler"): every batch draws one crop size from 384, 512
# and 640 and keeps the pixels of 32 crops of 512x512, (h, w, crops per GPU)
# = (384, 384, 56) (512, 512, 32) (640, 640, 20). Evaluation stays mmseg's
# protocol, as the fixed-size config.
#
# The switch from the fixed-size config, in four parts:
# - the pipeline's RandomCrop runs at the sampled size
#   (mmvit.SampledSizeTransform; mmseg's crop_size is (h, w):
#   size_order='hw');
# - mmvit.MultiScaleDataset wraps the dataset and hands the size to the
#   pipelines of the datasets inside it, mmvit.MultiScaleVariableBatchSampler
#   draws it per batch;
# - crops can be smaller than the sampled size (images smaller than it), so
#   batches are padded to a multiple of 32 instead of the fixed crop;
# - mmvit.MidEpochResumeHook makes `--resume` from the middle of an epoch
#   exact.
_base_ = './deeplabv3_mobilevit-s-d16_4xb32-50e_voc12aug-512x512.py'
train_pipeline = [
    dict(
        type='mmvit.SampledSizeTransform',
        transform=step,
        size_arg='crop_size',
        size_order='hw') if step['type'] == 'RandomCrop' else step
    for step in _base_.train_pipeline
]
data_preprocessor = dict(size=None, size_divisor=32)
model = dict(data_preprocessor=data_preprocessor)
train_dataloader = dict(
    batch_sampler=dict(
        type='mmvit.MultiScaleVariableBatchSampler',
        base_size=_base_.crop_size,  # batch_size (32) is for this size
        min_size=384,
        max_size=640,
        num_scales=3),
    dataset=dict(
        _delete_=True,
        type='mmvit.MultiScaleDataset',
        dataset=dict(
            _base_.train_dataloader.dataset,
            datasets=[
                dict(dataset, pipeline=train_pipeline)
                for dataset in _base_.train_dataloader.dataset.datasets
            ])))
custom_hooks = [*_base_.custom_hooks, dict(type='mmvit.MidEpochResumeHook')]
