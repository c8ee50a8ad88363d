"""MobileViTv2 block and its channels-first unfold / fold."""
import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer

from .separable_self_attention import SeparableTransformerLayer


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


def unfold_patches_channels_first(x: torch.Tensor,
                                  patch_size: int) -> Tuple[torch.Tensor, int]:
    """Split a map into ``patch_size x patch_size`` patches, channels first.

    ``[B, C, H, W] -> [B, C, P, N]`` with ``P = patch_size**2`` pixels per
    patch (row-major inside the patch) and ``N`` patches (row-major over the
    patch grid): the layout of ``F.unfold`` with kernel and stride
    ``patch_size``, built from reshapes of rank <= 5 (exportable to ONNX).
    The sides must be multiples of ``patch_size``
    (:func:`resize_to_patch_multiple`).

    Returns:
        tuple: The patches and the number of patch rows ``num_h``, which
        :func:`fold_patches_channels_first` needs.
    """
    batch, channels, height, width = x.shape
    if height % patch_size or width % patch_size:
        raise ValueError(f'a {height}x{width} map does not split into '
                         f'{patch_size}x{patch_size} patches; resize it to '
                         'multiples of the patch size first')
    num_h, num_w = height // patch_size, width // patch_size
    patch_area = patch_size * patch_size
    # [B, C, H, W] -> [B*C*nh, ph, nw, pw] -> [B*C*nh, ph, pw, nw]
    x = x.reshape(batch * channels * num_h, patch_size, num_w,
                  patch_size).transpose(2, 3)
    # -> [B, C, nh, P, nw] -> [B, C, P, nh, nw] -> [B, C, P, N]
    x = x.reshape(batch, channels, num_h, patch_area, num_w).transpose(2, 3)
    return x.reshape(batch, channels, patch_area, num_h * num_w), num_h


def fold_patches_channels_first(x: torch.Tensor, num_h: int,
                                patch_size: int) -> torch.Tensor:
    """Inverse of :func:`unfold_patches_channels_first`:
    ``[B, C, P, N] -> [B, C, H, W]`` with ``H = num_h * patch_size``."""
    batch, channels, patch_area, num_patches = x.shape
    num_w = num_patches // num_h
    # [B, C, P, N] -> [B, C, P, nh, nw] -> [B, C, nh, P, nw]
    x = x.reshape(batch, channels, patch_area, num_h, num_w).transpose(2, 3)
    # -> [B*C*nh, ph, pw, nw] -> [B*C*nh, ph, nw, pw] -> [B, C, H, W]
    x = x.reshape(batch * channels * num_h, patch_size, patch_size,
                  num_w).transpose(2, 3)
    return x.reshape(batch, channels, num_h * patch_size, num_w * patch_size)


class MobileViTv2Block(nn.Module):
    """MobileViTv2 block: local depthwise convolution, separable-attention
    transformer layers over unfolded patches, projection back to ``C``.

    ``x -> resize to multiples of the patch -> 3x3 depthwise conv (norm+act)
    -> 1x1 conv to d -> unfold [B, d, P, N] -> L separable transformer layers
    -> norm -> fold -> 1x1 conv to C (norm, no act)``. Unlike v1 there is no
    fusion with the block input (no concatenation, no residual), the local
    conv is depthwise, and it is dilated in a dilated (output-stride 8 / 16)
    stage, as in ml-cvnets. Odd-sized inputs come out at the resized size.

    Args:
        in_channels (int): Input (and output) channels ``C``.
        attn_dims (int): Token width ``d``.
        ffn_dims (int): FFN hidden width of the transformer layers.
        num_attn_blocks (int): Number of transformer layers ``L``.
        patch_size (int): Patch side. Defaults to 2.
        kernel_size (int): Kernel of the local depthwise conv. Defaults to 3.
        dilation (int): Dilation of the local depthwise conv. Defaults to 1.
        drop_rate (float): Dropout after attention and FFN. Defaults to 0.
        attn_drop_rate (float): Dropout on the context scores. Defaults to 0.
        ffn_drop_rate (float): FFN inner dropout. Defaults to 0.
        drop_path_rate (float): Stochastic depth. Defaults to 0.
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
                 attn_dims: int,
                 ffn_dims: int,
                 num_attn_blocks: int,
                 patch_size: int = 2,
                 kernel_size: int = 3,
                 dilation: int = 1,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 ffn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
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
                attn_dims,
                1,
                bias=False,
                conv_cfg=conv_cfg,
                norm_cfg=None,
                act_cfg=None),
        )
        self.global_rep = nn.Sequential(
            *[
                SeparableTransformerLayer(
                    attn_dims,
                    ffn_dims,
                    drop_rate=drop_rate,
                    attn_drop_rate=attn_drop_rate,
                    ffn_drop_rate=ffn_drop_rate,
                    drop_path_rate=drop_path_rate,
                    norm_cfg=attn_norm_cfg,
                    act_cfg=act_cfg) for _ in range(num_attn_blocks)
            ],
            build_norm_layer(attn_norm_cfg, attn_dims)[1])
        self.conv_proj = ConvModule(
            attn_dims,
            in_channels,
            1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = resize_to_patch_multiple(x, self.patch_size)
        x = self.local_rep(x)  # [B, C, H, W] -> [B, d, H, W]
        patches, num_h = unfold_patches_channels_first(x, self.patch_size)
        patches = self.global_rep(patches)  # [B, d, P, N]
        x = fold_patches_channels_first(patches, num_h, self.patch_size)
        return self.conv_proj(x)  # [B, d, H, W] -> [B, C, H, W]
