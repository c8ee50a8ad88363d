import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule

from .transformer import TransformerEncoderLayer


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


class MobileViTBlock(nn.Module):
    """MobileViT block (v1): local convolutions, a transformer over unfolded
    patches, and a fusion of the result with the block input.

    ``x -> 3x3 conv (norm+act) -> 1x1 conv to d -> unfold -> L transformer
    layers -> LayerNorm -> fold -> 1x1 conv to C (norm+act) -> concat with x ->
    3x3 fusion conv (norm+act)``. The convolutions are never dilated, as in
    ml-cvnets, even inside a dilated (output-stride 8/16) stage.

    Args:
        in_channels (int): Input (and output) channels ``C``.
        transformer_dim (int): Token width ``d``.
        ffn_dim (int): Transformer FFN width.
        num_transformer_blocks (int): Number of transformer layers ``L``.
        num_heads (int): Attention heads. Defaults to 4.
        patch_size (int): Patch side. Defaults to 2.
        kernel_size (int): Kernel of the local and fusion convs. Defaults to 3.
        drop_rate (float): Transformer dropout. Defaults to 0.
        attn_drop_rate (float): Attention dropout. Defaults to 0.
        ffn_drop_rate (float): FFN inner dropout. Defaults to 0.
        drop_path_rate (float): Stochastic depth. Defaults to 0.
        conv_cfg (dict, optional): Convolution config. Defaults to None.
        norm_cfg (dict): Normalization config. Defaults to ``dict(type='BN')``.
        act_cfg (dict): Activation config (also used in the FFN). Defaults to
            ``dict(type='SiLU')``.
    """

    def __init__(self,
                 in_channels: int,
                 transformer_dim: int,
                 ffn_dim: int,
                 num_transformer_blocks: int,
                 num_heads: int = 4,
                 patch_size: int = 2,
                 kernel_size: int = 3,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 ffn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
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
                transformer_dim,
                1,
                bias=False,
                conv_cfg=conv_cfg,
                norm_cfg=None,
                act_cfg=None),
        )
        self.global_rep = nn.Sequential(*[
            TransformerEncoderLayer(
                transformer_dim,
                num_heads,
                ffn_dim,
                drop_rate=drop_rate,
                attn_drop_rate=attn_drop_rate,
                ffn_drop_rate=ffn_drop_rate,
                drop_path_rate=drop_path_rate,
                act_cfg=act_cfg) for _ in range(num_transformer_blocks)
        ], nn.LayerNorm(transformer_dim))
        self.conv_proj = ConvModule(transformer_dim, in_channels, 1, **common)
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
