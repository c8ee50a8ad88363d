"""DeepLabv3 decode head laid out as in ml-cvnets (MobileViT segmentation).

mmseg's ``ASPPHead`` computes the same five ASPP branches but differs from the
head the MobileViT authors trained in two ways that change the model:

* branch order: mmseg concatenates ``[image pool, 1x1, rates...]``, cvnets
  ``[1x1, rates..., image pool]`` (the order of the projection's input
  channels, which matters when loading the released weights);
* fusion: mmseg's ``bottleneck`` is a 3x3 ConvModule, cvnets' ``project`` is a
  1x1 ConvModule (5x fewer parameters there).

``dilations`` means what it means in ``ASPPHead``: 1 for the 1x1 branch,
then the atrous rates. Everything else (losses, ``ignore_index``, resizing of
logits to the label or input size, ``Dropout2d`` + 1x1 ``conv_seg``
classifier) is mmseg's ``BaseDecodeHead``.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from torch import Tensor

from mmvit.registry import MODELS
from ..layers import check_batch_norm_batch


def _is_rate_sequence(value) -> bool:
    """True for a non-empty sequence of positive ints (bools excluded)."""
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        return False
    return all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0
        for v in value)


class ASPPPooling(nn.Module):
    """Image-level branch of ASPP: global average pool, 1x1 conv, broadcast.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        conv_cfg (dict, optional): Config of the conv layer. Defaults to None.
        norm_cfg (dict, optional): Config of the norm layer. Defaults to None.
        act_cfg (dict, optional): Config of the activation layer.
            Defaults to None.

    Note:
        With a norm layer the branch normalises a ``[B, C, 1, 1]`` tensor, so
        training with BatchNorm needs more than one image per batch (per
        GPU), as for mmseg's ``ASPPHead``; a batch of one is a clear
        ``ValueError``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.conv = ConvModule(
            in_channels,
            out_channels,
            kernel_size=1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        # else torch's bare "Expected more than 1 value per channel"
        check_batch_norm_batch(self.conv, x.shape[0], 'DeepLabV3Head',
                               'the ASPP image-pool branch ([B, C, 1, 1] '
                               'after global pooling)')
        out = self.conv(self.pool(x))  # [B, C, 1, 1]
        # Bilinear upsampling of a 1x1 map (cvnets) is a broadcast.
        return out.expand(-1, -1, h, w)  # [B, C, H, W]


@MODELS.register_module()
class DeepLabV3Head(BaseDecodeHead):
    """DeepLabv3 head as used by MobileViT (`Mehta & Rastegari, ICLR 2022
    <https://arxiv.org/abs/2110.02178>`_, head from `Chen et al., 2017
    <https://arxiv.org/abs/1706.05587>`_).

    ``aspp_convs`` = [1x1, one 3x3 conv per later rate in ``dilations``,
    image pool] (each conv + norm + act) -> concat -> ``project`` (1x1 conv +
    norm + act) -> ``Dropout2d(dropout_ratio)`` -> ``conv_seg`` (1x1 conv
    with bias).

    Args:
        dilations (Sequence[int]): The rates of the conv branches, as in
            mmseg's ``ASPPHead``: a leading 1 for the 1x1 branch, then the
            rates of the 3x3 atrous branches (the image-pool branch is always
            there). Defaults to (1, 6, 12, 18), the paper's rates at output
            stride 16.
        **kwargs: Arguments of mmseg's ``BaseDecodeHead``, among them
            ``in_channels``, ``channels`` (ASPP width), ``num_classes``,
            ``dropout_ratio`` (defaults to 0.1), ``norm_cfg``, ``act_cfg``
            (defaults to ReLU), ``in_index``, ``loss_decode``,
            ``ignore_index`` and ``align_corners``.
    """

    def __init__(self, dilations: Sequence[int] = (1, 6, 12, 18),
                 **kwargs) -> None:
        if not _is_rate_sequence(dilations):
            raise ValueError('DeepLabV3Head: `dilations` must be a non-empty '
                             'sequence of positive ints (1 for the 1x1 '
                             'branch, then the rates of the 3x3 atrous '
                             f'branches), got {dilations!r}')
        if dilations[0] != 1:
            raise ValueError(
                'DeepLabV3Head: `dilations` starts with 1, the rate of the '
                "1x1 branch, as in mmseg's ASPPHead; got "
                f'{tuple(dilations)!r}: for a 1x1 branch and 3x3 branches at '
                f'these rates write {(1, *dilations)!r}')
        if kwargs.get('input_transform') is not None:
            raise ValueError('DeepLabV3Head works on one feature map: '
                             '`input_transform` must be None, got '
                             f'{kwargs["input_transform"]!r}')
        super().__init__(**kwargs)
        self.dilations = tuple(dilations)
        self._init_layers()

    def _init_layers(self) -> None:
        """Build the ASPP branches and the projection."""
        common = dict(
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        branches = [ConvModule(self.in_channels, self.channels, 1, **common)]
        for rate in self.dilations[1:]:
            branches.append(
                ConvModule(
                    self.in_channels,
                    self.channels,
                    3,
                    padding=rate,
                    dilation=rate,
                    **common))
        branches.append(ASPPPooling(self.in_channels, self.channels, **common))
        self.aspp_convs = nn.ModuleList(branches)
        self.project = ConvModule(
            len(branches) * self.channels, self.channels, 1, **common)

    def _forward_feature(self, inputs: Tuple[Tensor]) -> Tensor:
        """Features before the classifier, ``[B, channels, H, W]``."""
        x = self._transform_inputs(inputs)  # [B, in_channels, H, W]
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f'DeepLabV3Head expects {self.in_channels} input channels '
                f'(feature {self.in_index}), got a tensor of shape '
                f'{tuple(x.shape)}; check `in_channels`/`in_index` against '
                'the backbone outputs')
        outs: List[Tensor] = [branch(x) for branch in self.aspp_convs]
        # [B, (len(dilations) + 1) * channels, H, W]
        x = torch.cat(outs, dim=1)
        return self.project(x)  # [B, channels, H, W]

    def forward(self, inputs: Tuple[Tensor]) -> Tensor:
        """Logits at the feature resolution, ``[B, num_classes, H, W]``."""
        return self.cls_seg(self._forward_feature(inputs))
