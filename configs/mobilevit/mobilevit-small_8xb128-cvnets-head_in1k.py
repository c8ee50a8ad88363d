# MobileViT-S on ImageNet-1k with ml-cvnets HEAD's recipe
# (`config/classification/imagenet/mobilevit.yaml`, 8 GPUs x 128 images).
# It differs from the paper's (v0.1, mobilevit-small_8xb128_in1k.py) in the
# sampler table and the warm-up only:
# - variable-batch table (h, w, batch) = (160, 327) (192, 227) (256, 128)
#   (288, 101) (320, 81): every size keeps the 256x256 x 128 pixel budget,
#   no rounding to the number of GPUs (~0.74x the steps of fixed batches);
# - linear warm-up over 20k iterations ("longer warm-up") instead of 3k.
# HEAD also reads images with PIL (RGB); this config keeps mmvit's BGR
# [0, 1] input, the convention of the released v0.1 weights.
_base_ = ['./mobilevit-small_8xb128_in1k.py']

train_dataloader = dict(
    batch_sampler=dict(clamp_to_base_batch=False, batch_size_divisor=1))
# the paper config's warm-up (2e-4 -> 2e-3) and cosine, warm-up 20k long
param_scheduler = [
    dict(_base_.param_scheduler[0], end=20000),
    _base_.param_scheduler[1],
]
