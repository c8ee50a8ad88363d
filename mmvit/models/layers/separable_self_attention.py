"""Separable self-attention of MobileViTv2 (Mehta & Rastegari, "Separable
Self-attention for Mobile Vision Transformers", TMLR 2023) and the pre-norm
transformer layer built on it.

Tokens stay channels-first, ``[B, d, P, N]`` (``P`` pixels per patch, ``N``
patches), so every projection is a 1x1 convolution and no transpose is needed
between the convolutional and the attention parts of the block.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmcv.cnn.bricks import DropPath


class SeparableSelfAttention(nn.Module):
    """Self-attention linear in the number of patches.

    One 1x1 convolution ``qkv_proj`` (``d -> 1 + 2d``) gives a scalar query
    ``[B, 1, P, N]``, keys and values ``[B, d, P, N]``. The softmax of the
    query over the ``N`` patches weights the keys into one context vector
    ``[B, d, P, 1]`` per pixel position; the output is
    ``out_proj(ReLU(value) * context)``. Only element-wise products and sums
    over ``N``: no ``N x N`` attention matrix.

    Args:
        embed_dims (int): Token width ``d``.
        attn_drop (float): Dropout on the context scores (training only).
            Defaults to 0.
    """

    def __init__(self, embed_dims: int, attn_drop: float = 0.):
        super().__init__()
        self.embed_dims = embed_dims
        self.qkv_proj = nn.Conv2d(embed_dims, 1 + 2 * embed_dims, 1, bias=True)
        self.attn_drop = nn.Dropout(attn_drop)
        self.out_proj = nn.Conv2d(embed_dims, embed_dims, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # [B, d, P, N] -> [B, 1 + 2d, P, N]
        qkv = self.qkv_proj(x)
        # -> query [B, 1, P, N], key and value [B, d, P, N]
        query, key, value = qkv.split([1, self.embed_dims, self.embed_dims],
                                      dim=1)
        # context scores: a distribution over the N patches
        scores = self.attn_drop(query.softmax(dim=-1))  # [B, 1, P, N]
        # [B, d, P, N] * [B, 1, P, N] -> sum over N -> [B, d, P, 1]
        context = (key * scores).sum(dim=-1, keepdim=True)
        # [B, d, P, N] * [B, d, P, 1] (broadcast) -> [B, d, P, N]
        return self.out_proj(F.relu(value) * context)


class SeparableTransformerLayer(nn.Module):
    """Pre-norm transformer layer of MobileViTv2 on ``[B, d, P, N]`` tokens:
    ``x + Drop(Attn(Norm(x)))`` then ``x + Drop(FFN(Norm(x)))`` with
    ``FFN = 1x1 conv -> act -> Dropout -> 1x1 conv`` and the separable
    self-attention.

    Args:
        embed_dims (int): Token width ``d``.
        ffn_dims (int): Hidden width of the feed-forward network.
        drop_rate (float): Dropout after attention and after the FFN.
            Defaults to 0.
        attn_drop_rate (float): Dropout on the context scores. Defaults to 0.
        ffn_drop_rate (float): Dropout inside the FFN. Defaults to 0.
        drop_path_rate (float): Stochastic depth on both residual branches.
            Defaults to 0.
        norm_cfg (dict): Norm of both branches, applied to ``[B, d, P, N]``.
            Defaults to ``dict(type='GN', num_groups=1)``: one group, i.e. a
            layer norm over all of ``d x P x N`` with a per-channel affine
            map (ml-cvnets' ``layer_norm_2d``).
        act_cfg (dict): FFN activation. Defaults to ``dict(type='SiLU')``.
    """
    # GroupNorm hands its 1x1 convs NCHW-contiguous token maps: with NHWC
    # weights (switch_to_deploy(channels_last=True)) every one of them would
    # convert the layout twice, so these weights stay NCHW
    deploy_memory_format = torch.contiguous_format

    def __init__(self,
                 embed_dims: int,
                 ffn_dims: int,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 ffn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_cfg: dict = dict(type='GN', num_groups=1),
                 act_cfg: Optional[dict] = dict(type='SiLU')):
        super().__init__()
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = SeparableSelfAttention(embed_dims, attn_drop_rate)
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = nn.Sequential(
            nn.Conv2d(embed_dims, ffn_dims, 1, bias=True),
            build_activation_layer(act_cfg),
            nn.Dropout(ffn_drop_rate),
            nn.Conv2d(ffn_dims, embed_dims, 1, bias=True),
        )
        self.dropout = nn.Dropout(drop_rate)
        self.drop_path = DropPath(
            drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # [B, d, P, N] throughout
        x = x + self.drop_path(self.dropout(self.attn(self.norm1(x))))
        x = x + self.drop_path(self.dropout(self.ffn(self.norm2(x))))
        return x
