"""Separable self-attention of MobileViTv2 (Mehta & Rastegari, "Separable
Self-attention for Mobile Vision Transformers", TMLR 2023) and the pre-norm
transformer layer built on it.

ml-cvnets unfolds the map into tokens ``[B, d, P, N]`` (``P`` pixels per
patch, ``N`` patches), runs the layers and folds back. Every step of a layer
but one is per pixel (the 1x1 projections, the FFN) or over all pixels of an
image (the one-group norm), so it does not matter where a pixel sits; the
one step that does, the softmax and sum over the ``N`` patches, is taken
here on the map itself through strided views of its patch grid. The layers
therefore run on the ``[B, d, H, W]`` map: same values, no unfold / fold
copies, and the map keeps its memory layout (NHWC after
``switch_to_deploy(channels_last=True)``).
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer

from .pre_norm_layer import DropRates, PreNormTransformerLayer, build_ffn


def _grid_shape(x: torch.Tensor,
                patch_size: Optional[Tuple[int, int]]) -> Tuple[int, int]:
    """``(ph, pw)`` for ``x``; ``None`` means ``x`` is already a token map
    ``[B, d, P, N]``, i.e. one ``P x 1`` patch per column."""
    if patch_size is None:
        return x.shape[2], 1
    height, width = x.shape[-2:]
    if height % patch_size[0] or width % patch_size[1]:
        raise ValueError(
            f'a {height}x{width} map does not split into '
            f'{patch_size[0]}x{patch_size[1]} patches; resize it to '
            'multiples of the patch size first')
    return patch_size


def _conv1x1(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 1, bias=True)


class SeparableSelfAttention(nn.Module):
    """Self-attention linear in the number of patches.

    One 1x1 convolution ``qkv_proj`` (``d -> 1 + 2d``) gives a scalar query,
    keys and values per pixel. For each of the ``ph x pw`` positions inside
    a patch, the softmax of the query over the ``N`` patches weights the
    keys into one context vector of ``d`` values; the output is
    ``out_proj(ReLU(value) * context)``. Only element-wise products and sums
    over ``N``: no ``N x N`` attention matrix.

    Args:
        embed_dims (int): Token width ``d``.
        attn_drop (float): Dropout on the context scores (training only).
            Defaults to 0.
        patch_size (int | tuple[int, int], optional): With a patch size the
            input is a map ``[B, d, H, W]`` whose ``ph x pw`` patches are
            the tokens (what MobileViTv2 blocks pass); with None (default)
            it is ml-cvnets' unfolded layout ``[B, d, P, N]``. The two give
            the same values for the same pixels.
    """

    def __init__(self,
                 embed_dims: int,
                 attn_drop: float = 0.,
                 patch_size: Optional[Union[int, Tuple[int, int]]] = None):
        super().__init__()
        self.embed_dims = embed_dims
        if isinstance(patch_size, int):
            patch_size = (patch_size, patch_size)
        self.patch_size = patch_size
        self.qkv_proj = nn.Conv2d(embed_dims, 1 + 2 * embed_dims, 1, bias=True)
        self.attn_drop = nn.Dropout(attn_drop)
        self.out_proj = nn.Conv2d(embed_dims, embed_dims, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        patch_h, patch_w = _grid_shape(x, self.patch_size)
        batch, dims, height, width = x.shape
        num_h, num_w = height // patch_h, width // patch_w
        # [B, d, H, W] -> query [B, 1, H, W], key and value [B, d, H, W]
        query, key, value = self.qkv_proj(x).split([1, dims, dims], dim=1)
        # softmax over the patch grid (nh, nw) at each in-patch offset:
        # [B, nh, ph, nw, pw], every tensor here of rank <= 5 (ONNX, CoreML)
        logits = query.reshape(batch, num_h, patch_h, num_w, patch_w)
        logits = logits - logits.amax(dim=(1, 3), keepdim=True)
        weights = logits.exp()
        scores = weights / weights.sum(dim=(1, 3), keepdim=True)
        scores = self.attn_drop(scores.reshape(batch, 1, height, width))
        # context: sum of key * score over the grid -> [B, d, ph, pw]
        context = (key * scores).reshape(batch, dims, num_h, patch_h,
                                         width).sum(dim=2)
        context = context.reshape(batch, dims, patch_h, num_w,
                                  patch_w).sum(dim=3)
        # every patch gets the context of its offsets: one patch row of
        # context [B, d, 1, ph, W] broadcast over the nh rows of patches
        context = context.repeat(1, 1, 1, num_w).unsqueeze(2)
        out = F.relu(value).reshape(batch, dims, num_h, patch_h,
                                    width) * context
        return self.out_proj(out.reshape(batch, dims, height, width))


class SeparableTransformerLayer(PreNormTransformerLayer):
    """Pre-norm transformer layer of MobileViTv2:
    ``x + Drop(Attn(Norm(x)))`` then ``x + Drop(FFN(Norm(x)))`` with
    ``FFN = 1x1 conv -> act -> Dropout -> 1x1 conv`` and the separable
    self-attention.

    Args:
        embed_dims (int): Token width ``d``.
        feedforward_channels (int): Hidden width of the feed-forward network.
        drop_rates (DropRates): Dropout rates (``attn_drop_rate`` on the
            context scores). Defaults to ``DropRates()`` (none).
        norm_cfg (dict): Norm of both branches. Defaults to
            ``dict(type='GN', num_groups=1)``: one group, i.e. a layer norm
            over all of ``d x H x W`` with a per-channel affine map
            (ml-cvnets' ``layer_norm_2d``), blind to where pixels sit.
        act_cfg (dict): FFN activation. Defaults to ``dict(type='SiLU')``.
        patch_size (int | tuple[int, int], optional): Patch size of the map
            input, see :class:`SeparableSelfAttention`. Defaults to None
            (unfolded ``[B, d, P, N]`` input).
    """

    def __init__(self,
                 embed_dims: int,
                 feedforward_channels: int,
                 drop_rates: DropRates = DropRates(),
                 norm_cfg: dict = dict(type='GN', num_groups=1),
                 act_cfg: Optional[dict] = dict(type='SiLU'),
                 patch_size: Optional[Union[int, Tuple[int, int]]] = None):
        super().__init__(drop_rates)
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = SeparableSelfAttention(embed_dims,
                                           drop_rates.attn_drop_rate,
                                           patch_size)
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = build_ffn(_conv1x1, embed_dims, feedforward_channels,
                             act_cfg, drop_rates.ffn_drop_rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._residuals(x, self.norm1, self.norm2)
