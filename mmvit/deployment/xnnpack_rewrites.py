"""The layers of MobileViT rewritten in ops XNNPACK has, for ExecuTorch.

XNNPACK (ExecuTorch's CPU delegate) has no layer norm, averages only 4D
maps over H and W, and takes no ``scaled_dot_product_attention``; left as
they are, MobileViT's LayerNorms, its attention and MobileViTv2's one-group
GroupNorm run in ExecuTorch's portable (reference) kernels, one delegate
call per stretch between them. :func:`for_xnnpack` returns a copy with the
same maths in delegated ops:

* :class:`MatmulLayerNorm`: the mean and variance over the last dim as a
  matmul with a ``1/d`` column (a linear layer);
* :class:`PooledGroupNorm`: one-group GroupNorm as a global average pool
  over H, W, then a 1x1 conv with ``1/C`` weights over the channels;
* :class:`ExplicitAttention`: ``softmax(q k^T / sqrt(d)) v`` as two batched
  matmuls and a softmax over the last dim.

INT8 keeps the two norms in float (:data:`FLOAT_MODULES`): their statistics
are reductions that int8 would round to a few levels.
"""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmvit.models.layers.transformer import MultiheadSelfAttention


class MatmulLayerNorm(nn.Module):
    """``nn.LayerNorm`` over the last dim with its statistics as matmuls."""

    def __init__(self, norm: nn.LayerNorm) -> None:
        super().__init__()
        dims = norm.normalized_shape[-1]
        self.eps = norm.eps
        self.register_buffer('average', torch.full((1, dims), 1. / dims))
        self.weight, self.bias = norm.weight, norm.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = F.linear(x, self.average)  # [..., d] -> [..., 1]
        centred = x - mean
        var = F.linear(centred * centred, self.average)
        out = centred * torch.rsqrt(var + self.eps)
        if self.weight is not None:
            out = out * self.weight + self.bias
        return out


class PooledGroupNorm(nn.Module):
    """``nn.GroupNorm(1, C)`` with its statistics as pool + 1x1 conv."""

    def __init__(self, norm: nn.GroupNorm) -> None:
        super().__init__()
        channels = norm.num_channels
        self.eps = norm.eps
        self.register_buffer('average',
                             torch.full((1, channels, 1, 1), 1. / channels))
        self.weight, self.bias = norm.weight, norm.bias

    def _mean(self, x: torch.Tensor) -> torch.Tensor:
        # [B, C, H, W] -> [B, C, 1, 1] -> [B, 1, 1, 1]
        return F.conv2d(x.mean(dim=(2, 3), keepdim=True), self.average)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        centred = x - self._mean(x)
        out = centred * torch.rsqrt(self._mean(centred * centred) + self.eps)
        if self.weight is not None:
            out = out * self.weight.view(1, -1, 1, 1) + self.bias.view(
                1, -1, 1, 1)
        return out


class ExplicitAttention(MultiheadSelfAttention):
    """:class:`MultiheadSelfAttention` (inference) in matmuls and softmax."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, num_tokens, dims = x.shape
        heads = self.num_heads
        head_dims = dims // heads
        # slices and rank-3 batched matmuls only (split, unbind and a rank-4
        # matmul add split / squeeze / expand copies that XNNPACK lacks)
        qkv = self.qkv(x)  # [B, N, 3 * d]
        query, key, value = (qkv[..., i * dims:(i + 1) * dims]
                             for i in range(3))

        def split_heads(t, order):
            # [B, N, d] -> [B, N, heads, d/heads] -> [B * heads, ., .]
            t = t.reshape(batch, num_tokens, heads, head_dims)
            t = t.permute(order)
            return t.reshape(batch * heads, *t.shape[2:])

        query = split_heads(query * head_dims**-0.5, (0, 2, 1, 3))
        key = split_heads(key, (0, 2, 3, 1))  # transposed: [B*h, d/h, N]
        value = split_heads(value, (0, 2, 1, 3))
        weights = torch.bmm(query, key).softmax(dim=-1)  # [B*h, N, N]
        out = torch.bmm(weights, value)  # [B*h, N, d/h]
        # [B * heads, N, d/heads] -> [B, N, d]
        out = out.reshape(batch, heads, num_tokens, head_dims)
        out = out.permute(0, 2, 1, 3).reshape(batch, num_tokens, dims)
        return self.proj(out)


#: Rewritten modules that INT8 keeps in float.
FLOAT_MODULES = (MatmulLayerNorm, PooledGroupNorm)


def _rewrite(module: nn.Module):
    if isinstance(module, nn.LayerNorm) and len(module.normalized_shape) == 1:
        return MatmulLayerNorm(module)
    if isinstance(module, nn.GroupNorm) and module.num_groups == 1:
        return PooledGroupNorm(module)
    if type(module) is MultiheadSelfAttention:
        attention = copy.copy(module)
        attention.__class__ = ExplicitAttention
        return attention
    return None


def for_xnnpack(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (in eval mode) with every LayerNorm over the
    last dim, one-group GroupNorm and MobileViT attention rewritten."""
    model = copy.deepcopy(model).eval()
    for name, child in list(model.named_modules()):
        for attr, sub in list(child.named_children()):
            new = _rewrite(sub)
            if new is not None:
                setattr(child, attr, new)
    return model
