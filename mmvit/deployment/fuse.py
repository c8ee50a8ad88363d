"""Fold inference-mode BatchNorm into the preceding convolution.

In eval mode a BatchNorm is a per-channel affine map
``y = (x - mean) / sqrt(var + eps) * gamma + beta``; right after a convolution
it can be absorbed into that convolution's weight and bias, which removes one
full read and write of every feature map it touched. :func:`switch_to_deploy`
does this for every conv/BN pair of a model (the backbone alone, an mmdet
detector or an mmseg segmentor): mmcv ``ConvModule`` s (``conv -> norm``
order) and ``nn.Sequential`` runs ``[Conv2d, BatchNorm2d]``.

The folded model is for inference only: its BN layers are gone, so training
it again would train without normalisation.
"""
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ['fold_conv_bn', 'switch_to_deploy']


def _foldable(conv: nn.Module, bn: nn.Module) -> bool:
    """Whether ``bn`` (in eval mode) is a per-channel affine map that can be
    folded into ``conv``."""
    return (isinstance(conv, nn.Conv2d) and isinstance(bn, _BatchNorm)
            and bn.track_running_stats and bn.running_mean is not None
            and bn.running_var is not None
            and conv.out_channels == bn.num_features)


@torch.no_grad()
def fold_conv_bn(conv: nn.Conv2d, bn: _BatchNorm) -> nn.Conv2d:
    """Fold the eval-mode ``bn`` into ``conv`` (in place) and return ``conv``.

    ``conv(x)`` then equals ``bn(conv(x))`` of the original pair; the fold is
    computed in float64 and cast back to the weight's dtype.

    Args:
        conv (nn.Conv2d): Convolution (grouped / depthwise / dilated are all
            fine) whose output ``bn`` normalises.
        bn (_BatchNorm): BatchNorm with running statistics
            (``track_running_stats=True``).

    Returns:
        nn.Conv2d: ``conv`` with the folded weight and a (new) bias.
    """
    if not _foldable(conv, bn):
        raise ValueError(
            f'cannot fold {type(bn).__name__} into {type(conv).__name__}: '
            'need a Conv2d followed by a BatchNorm with running statistics '
            f'over its {getattr(conv, "out_channels", "?")} output channels, '
            f'got num_features={getattr(bn, "num_features", "?")}')
    weight = conv.weight
    dtype = weight.dtype
    # [C_out] scale = gamma / sqrt(var + eps), shift = beta - mean * scale
    scale = (bn.running_var.double() + bn.eps).rsqrt()
    if bn.weight is not None:
        scale = scale * bn.weight.double()
    shift = -bn.running_mean.double() * scale
    if bn.bias is not None:
        shift = shift + bn.bias.double()
    if conv.bias is not None:
        shift = shift + conv.bias.double() * scale
    # [C_out, C_in / groups, kh, kw] * [C_out, 1, 1, 1]
    folded = weight.double() * scale.reshape(-1, 1, 1, 1)
    requires_grad = weight.requires_grad
    conv.weight = nn.Parameter(
        folded.to(dtype).contiguous(), requires_grad=requires_grad)
    conv.bias = nn.Parameter(shift.to(dtype), requires_grad=requires_grad)
    return conv


def _fold_conv_module(module: ConvModule) -> bool:
    """Fold the norm of an mmcv ``ConvModule`` whose order is
    ``conv -> norm``; returns whether it did."""
    if not module.with_norm or module.norm_name is None:
        return False
    order = list(module.order)
    if order.index('norm') != order.index('conv') + 1:
        return False  # e.g. pre-activation order: norm comes before conv
    if not _foldable(module.conv, module.norm):
        return False
    fold_conv_bn(module.conv, module.norm)
    delattr(module, module.norm_name)
    module.norm_name = None  # ConvModule.norm -> None
    module.with_norm = False  # ConvModule.forward skips the norm step
    return True


def _fold_sequential(module: nn.Sequential) -> int:
    """Fold every ``[Conv2d, BatchNorm]`` neighbour pair of a Sequential; the
    BN is replaced by ``nn.Identity`` so that indices (and the names of the
    other children) stay the same. Returns how many it folded."""
    num_folded = 0
    previous: Optional[nn.Module] = None
    for name, child in module.named_children():
        if previous is not None and _foldable(previous, child):
            fold_conv_bn(previous, child)
            setattr(module, name, nn.Identity())
            num_folded += 1
            previous = None
        else:
            previous = child
    return num_folded


def switch_to_deploy(model: nn.Module,
                     channels_last: bool = False) -> nn.Module:
    """Prepare ``model`` for fast inference, in place.

    Puts the model in eval mode and folds every BatchNorm that directly
    follows a convolution into it (mmcv ``ConvModule`` s with ``conv`` before
    ``norm``, and ``[Conv2d, BatchNorm]`` neighbours inside ``nn.Sequential``),
    so that those BN layers disappear from the forward pass. Outputs stay the
    same up to float rounding (about 1e-6). Calling it again is a no-op.

    Works for any ``nn.Module``: the MobileViT backbone, an SSDLite detector
    (mmdet) or a DeepLabv3 segmentor (mmseg), whose ``predict`` /
    ``test_step`` keep working. BatchNorms that follow no convolution, or
    that normalise with batch statistics (``track_running_stats=False``), are
    left in place.

    Args:
        model (nn.Module): The model to convert; modified in place.
        channels_last (bool): Also convert the 4-D parameters and buffers to
            ``torch.channels_last`` memory format. The convolutions then
            produce NHWC feature maps even from an NCHW input (PyTorch follows
            the weight's layout), which on CPU makes the model markedly
            faster (oneDNN's NHWC depthwise and 1x1 kernels; MobileViT
            blocks unfold / fold NHWC maps with fewer copies, MobileViTv2
            blocks keep them NHWC throughout). Same values;
            outputs are then channels-last tensors. Defaults to False.

    Returns:
        nn.Module: ``model`` itself, in eval mode.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(
            f'switch_to_deploy expects an nn.Module, got {type(model)!r}')
    if not isinstance(channels_last, bool):
        raise TypeError(f'channels_last must be a bool, got {channels_last!r}')
    model.eval()
    # collect first: folding edits the module tree being iterated
    modules = list(model.modules())
    for module in modules:
        if isinstance(module, ConvModule):
            _fold_conv_module(module)
        elif isinstance(module, nn.Sequential):
            _fold_sequential(module)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    return model
