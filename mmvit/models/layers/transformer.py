from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .pre_norm_layer import DropRates, PreNormTransformerLayer, build_ffn

#: The fused (flash / memory-efficient) SDPA kernels need a head dim that is
#: a multiple of this in fp16 / bf16; MobileViT's are 36, 48, 60 (S), 24, 30,
#: 36 (XS) and 16, 20, 24 (XXS).
HEAD_DIM_MULTIPLE = 8


def padded_attention(query: torch.Tensor,
                     key: torch.Tensor,
                     value: torch.Tensor,
                     dropout_p: float = 0.,
                     multiple: int = HEAD_DIM_MULTIPLE) -> torch.Tensor:
    """:func:`~torch.nn.functional.scaled_dot_product_attention` with the
    head dim zero-padded to a multiple of ``multiple``, sliced back after.

    The same maths as the unpadded call: zero columns add nothing to
    ``q @ k^T``, the softmax is unchanged with the scale of the *true* head
    dim (``head_dim ** -0.5``, passed explicitly), and the padded value
    columns give zero outputs, which are sliced off.

    Args:
        query, key, value (Tensor): ``[B, heads, N, head_dim]``.
        dropout_p (float): Attention dropout. Defaults to 0.
        multiple (int): Pad the head dim up to a multiple of this.
            Defaults to :data:`HEAD_DIM_MULTIPLE`.

    Returns:
        Tensor: ``[B, heads, N, head_dim]``.
    """
    head_dim = query.shape[-1]
    pad = -head_dim % multiple
    if pad == 0:
        return F.scaled_dot_product_attention(
            query, key, value, dropout_p=dropout_p)
    # [B, heads, N, head_dim] -> [B, heads, N, head_dim + pad]
    query, key, value = (F.pad(t, (0, pad)) for t in (query, key, value))
    out = F.scaled_dot_product_attention(
        query, key, value, dropout_p=dropout_p, scale=head_dim**-0.5)
    return out[..., :head_dim]


def _needs_padding(x: torch.Tensor) -> bool:
    # Only CUDA fp16/bf16 has fused kernels that reject these head dims; on
    # CPU (and in fp32) the math kernel takes any head dim, and padding would
    # only add three copies and up to 20% more attention FLOPs (20 -> 24).
    return x.is_cuda and x.dtype in (torch.float16, torch.bfloat16)


class MultiheadSelfAttention(nn.Module):
    """Multi-head self-attention with a fused ``qkv`` projection, computed by
    :func:`torch.nn.functional.scaled_dot_product_attention` (on CUDA in
    fp16 / bf16 through :func:`padded_attention`, so that the fused kernels
    accept MobileViT's head dims).

    Args:
        embed_dims (int): Token width ``d``.
        num_heads (int): Number of heads; must divide ``embed_dims``.
        attn_drop (float): Dropout on the attention weights (training only).
            Defaults to 0.
    """

    def __init__(self, embed_dims: int, num_heads: int, attn_drop: float = 0.):
        super().__init__()
        if embed_dims % num_heads != 0:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by '
                             f'num_heads={num_heads}')
        self.num_heads = num_heads
        self.attn_drop = attn_drop
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=True)
        self.proj = nn.Linear(embed_dims, embed_dims, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, num_tokens, dims = x.shape
        # [B, N, 3*d] -> [3, B, heads, N, d/heads]
        qkv = self.qkv(x).reshape(batch, num_tokens, 3, self.num_heads,
                                  dims // self.num_heads).permute(2, 0, 3, 1, 4)
        query, key, value = qkv.unbind(0)
        dropout_p = self.attn_drop if self.training else 0.
        if _needs_padding(query):
            out = padded_attention(query, key, value, dropout_p=dropout_p)
        else:
            out = F.scaled_dot_product_attention(
                query, key, value, dropout_p=dropout_p)
        # [B, heads, N, d/heads] -> [B, N, d]
        out = out.transpose(1, 2).reshape(batch, num_tokens, dims)
        return self.proj(out)


class TransformerEncoderLayer(PreNormTransformerLayer):
    """Pre-norm transformer encoder layer as used in MobileViT, on tokens
    ``[B*P, N, d]``: ``x + Drop(MHSA(LN(x)))`` then ``x + Drop(FFN(LN(x)))``
    with ``FFN = Linear -> act -> Dropout -> Linear``.

    Args:
        embed_dims (int): Token width ``d``.
        num_heads (int): Attention heads.
        feedforward_channels (int): Hidden width of the feed-forward network.
        drop_rates (DropRates): Dropout rates. Defaults to ``DropRates()``
            (none).
        act_cfg (dict): FFN activation. Defaults to ``dict(type='SiLU')``.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 feedforward_channels: int,
                 drop_rates: DropRates = DropRates(),
                 act_cfg: Optional[dict] = dict(type='SiLU')):
        super().__init__(drop_rates)
        self.ln1 = nn.LayerNorm(embed_dims)
        self.attn = MultiheadSelfAttention(embed_dims, num_heads,
                                           drop_rates.attn_drop_rate)
        self.ln2 = nn.LayerNorm(embed_dims)
        self.ffn = build_ffn(nn.Linear, embed_dims, feedforward_channels,
                             act_cfg, drop_rates.ffn_drop_rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._residuals(x, self.ln1, self.ln2)
