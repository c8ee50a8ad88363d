"""MobileViTv2 block (Mehta & Rastegari, TMLR 2023): local convolutions,
separable-attention layers over the patches, a projection back; no fusion
with the block input."""
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_norm_layer

from .pre_norm_layer import DropRates
from .separable_self_attention import SeparableTransformerLayer
from .unfold_fold import resize_to_patch_multiple


class MobileViTv2Block(nn.Module):
    """MobileViTv2 block: local depthwise convolution, separable-attention
    transformer layers over the patches, projection back to ``C``.

    ``x -> resize to multiples of the patch -> 3x3 depthwise conv (norm+act)
    -> 1x1 conv to d -> L separable transformer layers -> norm -> 1x1 conv
    to C (norm, no act)``. ml-cvnets unfolds the map into patches before the
    layers and folds it back after; here the layers take the map and attend
    over its patch grid directly (same values, see
    :mod:`~mmvit.models.layers.separable_self_attention`). Unlike v1 there is no
    fusion with the block input (no concatenation, no residual), the local
    conv is depthwise, and it is dilated in a dilated (output-stride 8 / 16)
    stage, as in ml-cvnets. Odd-sized inputs come out at the resized size.

    Args:
        in_channels (int): Input (and output) channels ``C``.
        embed_dims (int): Token width ``d``.
        feedforward_channels (int): Hidden width of the transformer FFNs.
        num_transformer_blocks (int): Number of transformer layers ``L``.
        patch_size (int): Patch side. Defaults to 2.
        kernel_size (int): Kernel of the local depthwise conv. Defaults to 3.
        dilation (int): Dilation of the local depthwise conv. Defaults to 1.
        drop_rates (DropRates): Dropout rates of the transformer layers.
            Defaults to ``DropRates()`` (none).
        conv_cfg (dict, optional): Convolution config. Defaults to None.
        norm_cfg (dict): Norm of the convolutions. Defaults to
            ``dict(type='BN')``.
        act_cfg (dict): Activation of the local conv and of the FFN.
            Defaults to ``dict(type='SiLU')``.
        attn_norm_cfg (dict): Norm of the transformer layers and of the final
            norm, on ``[B, d, P, N]``. Defaults to
            ``dict(type='GN', num_groups=1)`` (ml-cvnets' ``layer_norm_2d``).
    """

    def __init__(self,
                 in_channels: int,
                 embed_dims: int,
                 feedforward_channels: int,
                 num_transformer_blocks: int,
                 patch_size: int = 2,
                 kernel_size: int = 3,
                 dilation: int = 1,
                 drop_rates: DropRates = DropRates(),
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='SiLU'),
                 attn_norm_cfg: dict = dict(type='GN', num_groups=1)):
        super().__init__()
        self.patch_size = patch_size
        self.local_rep = nn.Sequential(
            ConvModule(
                in_channels,
                in_channels,
                kernel_size,
                padding=dilation * (kernel_size // 2),
                dilation=dilation,
                groups=in_channels,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg),
            ConvModule(
                in_channels,
                embed_dims,
                1,
                bias=False,
                conv_cfg=conv_cfg,
                norm_cfg=None,
                act_cfg=None),
        )
        self.global_rep = nn.Sequential(
            *[
                SeparableTransformerLayer(
                    embed_dims,
                    feedforward_channels,
                    drop_rates=drop_rates,
                    norm_cfg=attn_norm_cfg,
                    act_cfg=act_cfg,
                    patch_size=patch_size)
                for _ in range(num_transformer_blocks)
            ],
            build_norm_layer(attn_norm_cfg, embed_dims)[1])
        self.conv_proj = ConvModule(
            embed_dims,
            in_channels,
            1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = resize_to_patch_multiple(x, self.patch_size)
        x = self.local_rep(x)  # [B, C, H, W] -> [B, d, H, W]
        x = self.global_rep(x)  # attention over the patches, [B, d, H, W]
        return self.conv_proj(x)  # [B, d, H, W] -> [B, C, H, W]
