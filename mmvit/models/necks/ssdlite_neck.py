"""Extra SSDLite levels of ml-cvnets' ``SingleShotMaskDetector``."""
from typing import Optional, Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmvit.registry import MODELS
from ..layers import check_batch_norm_batch


def check_in_channels(inputs: Sequence[Tensor], expected: Tuple[int, ...],
                      owner: str, key: str, source: str) -> None:
    """Refuse ``inputs`` whose number or channels differ from the
    ``model.<key>.in_channels`` = ``expected`` of ``owner``, naming the fix:
    the ``source`` module's ``out_channels``."""
    got = tuple(x.shape[1] for x in inputs)
    if got != tuple(expected):
        raise ValueError(
            f'{owner} expects {len(expected)} maps of {tuple(expected)} '
            f'channels ({key}.in_channels), got {len(got)} maps of {got} '
            f'channels from the {source}; set model.{key}.in_channels to '
            f"the {source}'s out_channels")


@MODELS.register_module()
class SSDLiteNeck(BaseModule):
    """Adds cvnets' extra SSDLite levels to the backbone maps.

    Each extra level is one separable 3x3 stride-2 convolution (depthwise +
    norm, no activation; pointwise + norm + activation), and an optional last
    level pools globally and applies a 1x1 convolution + activation (no norm,
    no bias). mmdet's ``SSDNeck`` cannot express this: it puts a 1x1
    bottleneck before every 3x3 conv, activates the depthwise conv and has no
    global level.

    The backbone maps pass through unchanged, so with MobileViT-S
    ``(128@20x20, 160@10x10)`` at 320x320 the outputs are
    ``128@20, 160@10, 256@5, 128@3, 128@2, 64@1``.

    Args:
        in_channels (Sequence[int]): Channels of the backbone maps.
        extra_channels (Sequence[int]): Output channels of the stride-2
            separable levels built on the last backbone map. Defaults to
            ``(256, 128, 128)``.
        global_channels (int, optional): Output channels of the global level;
            None for no global level. Defaults to 64.
        conv_cfg (dict, optional): Convolution config. Defaults to None.
        norm_cfg (dict): Norm config of the separable levels. Defaults to
            ``dict(type='BN')``.
        act_cfg (dict): Activation config. Defaults to ``dict(type='ReLU')``
            (cvnets' detector uses ReLU outside the backbone).
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to Xavier-uniform convolutions, as cvnets.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        extra_channels: Sequence[int] = (256, 128, 128),
        global_channels: Optional[int] = 64,
        conv_cfg: Optional[dict] = None,
        norm_cfg: dict = dict(type='BN'),
        act_cfg: dict = dict(type='ReLU'),
        init_cfg: Optional[dict] = dict(
            type='Xavier', layer='Conv2d', distribution='uniform', bias=0)
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) == 0:
            raise ValueError('in_channels must name at least one map')
        self.in_channels = tuple(in_channels)
        self.extra_channels = tuple(extra_channels)
        self.global_channels = global_channels

        self.extra_layers = nn.ModuleList()
        channels = self.in_channels[-1]
        for out_channels in self.extra_channels:
            self.extra_layers.append(
                DepthwiseSeparableConvModule(
                    channels,
                    out_channels,
                    3,
                    stride=2,
                    padding=1,
                    conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                    dw_act_cfg=None))
            channels = out_channels
        if global_channels is not None:
            self.global_layer = nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                ConvModule(
                    channels,
                    global_channels,
                    1,
                    bias=False,
                    conv_cfg=conv_cfg,
                    norm_cfg=None,
                    act_cfg=act_cfg))
            channels = global_channels
        else:
            self.global_layer = None
        self.out_channels = self.level_channels(in_channels, extra_channels,
                                                global_channels)

    @staticmethod
    def level_channels(in_channels: Sequence[int],
                       extra_channels: Sequence[int],
                       global_channels: Optional[int]) -> Tuple[int, ...]:
        """Channels of the levels a neck of these arguments outputs (the
        backbone maps, the extra levels, the global level), without building
        it."""
        return tuple(in_channels) + tuple(extra_channels) + (
            () if global_channels is None else (global_channels, ))

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        # else a conv fails deep inside, or extra maps are ignored
        check_in_channels(inputs, self.in_channels, 'SSDLiteNeck', 'neck',
                          'backbone')
        outs = list(inputs)
        x = outs[-1]
        # else torch fails deep inside BN on the 1x1 levels
        check_batch_norm_batch(self.extra_layers, x.shape[0], 'SSDLite',
                               'its 1x1 levels')
        for layer in self.extra_layers:
            x = layer(x)  # [B, C, H, W] -> [B, C', ceil(H/2), ceil(W/2)]
            outs.append(x)
        if self.global_layer is not None:
            outs.append(self.global_layer(x))  # [B, C, H, W] -> [B, C', 1, 1]
        return tuple(outs)
