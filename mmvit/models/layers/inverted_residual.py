from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from .make_divisible import make_divisible


class InvertedResidual(nn.Module):
    """MobileNetV2 inverted residual block (the "MV2" block of MobileViT).

    ``1x1 expand (norm + act) -> 3x3 depthwise (norm + act) -> 1x1 reduce
    (norm)``, with an identity shortcut when the stride is 1 and the channel
    count is unchanged.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Stride of the depthwise convolution (1 or 2).
        expand_ratio (float): Hidden width relative to ``in_channels``; the
            hidden width is rounded to a multiple of 8 as in ml-cvnets.
        dilation (int): Dilation of the depthwise convolution. Defaults to 1.
        conv_cfg (dict, optional): Convolution config. Defaults to None.
        norm_cfg (dict): Normalization config. Defaults to ``dict(type='BN')``.
        act_cfg (dict): Activation config. Defaults to
            ``dict(type='SiLU')``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int,
                 expand_ratio: float,
                 dilation: int = 1,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='SiLU')):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f'stride must be 1 or 2, got {stride}')
        hidden_channels = make_divisible(round(in_channels * expand_ratio), 8)
        self.use_res_connect = stride == 1 and in_channels == out_channels
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        layers = []
        if expand_ratio != 1:
            layers.append(
                ConvModule(
                    in_channels, hidden_channels, 1, act_cfg=act_cfg,
                    **common))
        layers += [
            ConvModule(
                hidden_channels,
                hidden_channels,
                3,
                stride=stride,
                padding=dilation,
                dilation=dilation,
                groups=hidden_channels,
                act_cfg=act_cfg,
                **common),
            ConvModule(
                hidden_channels, out_channels, 1, act_cfg=None, **common),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.use_res_connect else out
