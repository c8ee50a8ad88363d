"""Unfolding a feature map into patches of pixels and folding it back, the
step between the local (convolutional) and the global (transformer) parts of
the MobileViT blocks.

* MobileViT (v1, :func:`unfold_patches` / :func:`fold_patches`): tokens
  ``[B*P, N, d]`` for the transformer, the map resized to a multiple of the
  patch size and back;
* MobileViTv2: the map resized up to a multiple of the patch size
  (:func:`resize_to_patch_multiple`) and not back, as in ml-cvnets; its
  attention then works on the map's patch grid without unfolding (see
  :mod:`~mmvit.models.layers.separable_self_attention`).

``P`` is the number of pixels per patch, ``N`` the number of patches.
"""
import math
from typing import Tuple

import torch
import torch.nn.functional as F


def _is_channels_last(x: torch.Tensor) -> bool:
    """A 4-D tensor laid out NHWC in memory (and not also NCHW, as 1x1 maps
    or single-channel ones are)."""
    return (not torch.jit.is_tracing() and not x.is_contiguous()
            and x.is_contiguous(memory_format=torch.channels_last))


def unfold_patches(x: torch.Tensor,
                   patch_size: int) -> Tuple[torch.Tensor, dict]:
    """Split a feature map into ``patch_size x patch_size`` patches.

    Returns tokens of shape ``[B * P, N, C]`` (``P`` pixels per patch, ``N``
    patches), so attention runs across patches for each pixel position, and
    the info needed by :func:`fold_patches`. A map whose sides are not
    multiples of the patch size is first resized up to the next multiple
    (bilinear), as ml-cvnets does. Only rank <= 4 reshapes are used, which
    keeps the graph exportable to ONNX / CoreML. A channels-last input takes
    a path with fewer copies (same values) and :func:`fold_patches` then
    returns channels-last memory too.
    """
    batch, channels, height, width = x.shape
    new_h = math.ceil(height / patch_size) * patch_size
    new_w = math.ceil(width / patch_size) * patch_size
    if (new_h, new_w) != (height, width):
        x = F.interpolate(
            x, size=(new_h, new_w), mode='bilinear', align_corners=False)
    num_h, num_w = new_h // patch_size, new_w // patch_size
    num_patches, patch_area = num_h * num_w, patch_size * patch_size
    channels_last = _is_channels_last(x)
    if channels_last:
        # NHWC memory (e.g. after ``switch_to_deploy(channels_last=True)``):
        # two copies give contiguous tokens, no NCHW round trip.
        # [B, C, H, W] -> [B, H, W, C] (a view) -> [B*nh*ph, nw, pw, C]
        x = x.permute(0, 2, 3, 1).reshape(batch * num_h * patch_size, num_w,
                                          patch_size, channels)
        # -> [B*nh*ph, pw, nw, C] -> [B, nh, P, nw*C]
        x = x.transpose(1, 2).reshape(batch, num_h, patch_area,
                                      num_w * channels)
        # -> [B, P, nh, nw*C] -> [B*P, N, C]
        x = x.transpose(1, 2).reshape(batch * patch_area, num_patches,
                                      channels)
    else:
        # [B, C, H, W] -> [B*C*nh, ph, nw, pw] -> [B*C*nh, nw, ph, pw]
        x = x.reshape(batch * channels * num_h, patch_size, num_w,
                      patch_size).transpose(1, 2)
        # -> [B, C, N, P] -> [B, P, N, C] -> [B*P, N, C]
        x = x.reshape(batch, channels, num_patches, patch_area).transpose(1, 3)
        x = x.reshape(batch * patch_area, num_patches, channels)
    info = dict(
        batch=batch,
        orig_size=(height, width),
        num_h=num_h,
        num_w=num_w,
        patch_size=patch_size,
        channels_last=channels_last)
    return x, info


def fold_patches(x: torch.Tensor, info: dict) -> torch.Tensor:
    """Inverse of :func:`unfold_patches`: ``[B * P, N, C] -> [B, C, H, W]``."""
    batch, patch_size = info['batch'], info['patch_size']
    num_h, num_w = info['num_h'], info['num_w']
    channels = x.shape[-1]
    patch_area = patch_size * patch_size
    if info.get('channels_last', False):
        # give back NHWC memory, as unfold_patches received
        # [B*P, N, C] -> [B, P, nh, nw*C] -> [B, nh, P, nw*C]
        x = x.reshape(batch, patch_area, num_h,
                      num_w * channels).transpose(1, 2)
        # -> [B*nh*ph, pw, nw, C] -> [B*nh*ph, nw, pw, C] -> [B, H, W, C]
        x = x.reshape(batch * num_h * patch_size, patch_size, num_w,
                      channels).transpose(1, 2)
        x = x.reshape(batch, num_h * patch_size, num_w * patch_size, channels)
        # -> [B, C, H, W] in channels-last memory (a view)
        x = x.permute(0, 3, 1, 2)
    else:
        # [B*P, N, C] -> [B, P, N, C] -> [B, C, N, P]
        x = x.reshape(batch, patch_area, num_h * num_w,
                      channels).transpose(1, 3)
        # -> [B*C*nh, nw, ph, pw] -> [B*C*nh, ph, nw, pw] -> [B, C, H, W]
        x = x.reshape(batch * channels * num_h, num_w, patch_size,
                      patch_size).transpose(1, 2)
        x = x.reshape(batch, channels, num_h * patch_size, num_w * patch_size)
    if x.shape[-2:] != info['orig_size']:
        x = F.interpolate(
            x, size=info['orig_size'], mode='bilinear', align_corners=False)
    return x


def resize_to_patch_multiple(x: torch.Tensor, patch_size: int) -> torch.Tensor:
    """``x`` resized (bilinear, ``align_corners=True``) up to the next
    multiple of ``patch_size`` on each side, or ``x`` itself when its sides
    already are multiples. MobileViTv2 resizes the *input* of its blocks this
    way and never resizes back (v1 resizes with ``align_corners=False`` and
    restores the size after folding)."""
    height, width = x.shape[-2:]
    new_h = math.ceil(height / patch_size) * patch_size
    new_w = math.ceil(width / patch_size) * patch_size
    if (new_h, new_w) == (height, width):
        return x
    return F.interpolate(
        x, size=(new_h, new_w), mode='bilinear', align_corners=True)
