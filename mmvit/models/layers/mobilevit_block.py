from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from .pre_norm_layer import DropRates
from .transformer import TransformerEncoderLayer
from .unfold_fold import fold_patches, unfold_patches


class MobileViTBlock(nn.Module):
    """MobileViT block (v1): local convolutions, a transformer over unfolded
    patches, and a fusion of the result with the block input.

    ``x -> 3x3 conv (norm+act) -> 1x1 conv to d -> unfold -> L transformer
    layers -> LayerNorm -> fold -> 1x1 conv to C (norm+act) -> concat with x ->
    3x3 fusion conv (norm+act)``. The convolutions are never dilated, as in
    ml-cvnets, even inside a dilated (output-stride 8/16) stage.

    Args:
        in_channels (int): Input (and output) channels ``C``.
        embed_dims (int): Token width ``d``.
        feedforward_channels (int): Hidden width of the transformer FFNs.
        num_transformer_blocks (int): Number of transformer layers ``L``.
        num_heads (int): Attention heads. Defaults to 4.
        patch_size (int): Patch side. Defaults to 2.
        kernel_size (int): Kernel of the local and fusion convs. Defaults to 3.
        drop_rates (DropRates): Dropout rates of the transformer layers.
            Defaults to ``DropRates()`` (none).
        conv_cfg (dict, optional): Convolution config. Defaults to None.
        norm_cfg (dict): Normalization config. Defaults to ``dict(type='BN')``.
        act_cfg (dict): Activation config (also used in the FFN). Defaults to
            ``dict(type='SiLU')``.
    """

    def __init__(self,
                 in_channels: int,
                 embed_dims: int,
                 feedforward_channels: int,
                 num_transformer_blocks: int,
                 num_heads: int = 4,
                 patch_size: int = 2,
                 kernel_size: int = 3,
                 drop_rates: DropRates = DropRates(),
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='SiLU')):
        super().__init__()
        self.patch_size = patch_size
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.local_rep = nn.Sequential(
            ConvModule(
                in_channels,
                in_channels,
                kernel_size,
                padding=kernel_size // 2,
                **common),
            ConvModule(
                in_channels,
                embed_dims,
                1,
                bias=False,
                conv_cfg=conv_cfg,
                norm_cfg=None,
                act_cfg=None),
        )
        self.global_rep = nn.Sequential(*[
            TransformerEncoderLayer(
                embed_dims,
                num_heads,
                feedforward_channels,
                drop_rates=drop_rates,
                act_cfg=act_cfg) for _ in range(num_transformer_blocks)
        ], nn.LayerNorm(embed_dims))
        self.conv_proj = ConvModule(embed_dims, in_channels, 1, **common)
        self.conv_fusion = ConvModule(
            2 * in_channels,
            in_channels,
            kernel_size,
            padding=kernel_size // 2,
            **common)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        tokens, info = unfold_patches(self.local_rep(x), self.patch_size)
        x = fold_patches(self.global_rep(tokens), info)
        x = self.conv_proj(x)
        return self.conv_fusion(torch.cat((shortcut, x), dim=1))
