"""Head-dim padding of the attention: the same maths as the unpadded call.

The padded path runs on CUDA in fp16 / bf16 only (the fused kernels need
head dims that are multiples of 8); here it is forced on the CPU in float32,
where both paths round alike, so they agree within the suite's float32
bound (:data:`numerics.REL`).
"""
import pytest
import torch
import torch.nn.functional as F
from conftest import torch_generator
from numerics import assert_close

from mmvit.models.backbones.mobilevit import MobileViT
from mmvit.models.layers import MultiheadSelfAttention, padded_attention
from mmvit.models.layers import transformer
from mmvit.models.layers.transformer import HEAD_DIM_MULTIPLE


def _head_dims():
    """``(arch, head dim)`` of every MobileViT stage of every arch, read off
    the arch table."""
    dims = []
    for arch, setting in sorted(MobileViT.arch_settings.items()):
        for stage in setting['stages']:
            if stage.block == 'mobilevit':
                dims.append((arch, stage.embed_dims // stage.num_heads))
    return sorted(set(dims))


HEAD_DIMS = _head_dims()


def test_some_head_dims_need_padding():
    # else the tests below would never take the padded branch
    assert any(dim % HEAD_DIM_MULTIPLE for _, dim in HEAD_DIMS), HEAD_DIMS
    assert {arch for arch, _ in HEAD_DIMS} == set(MobileViT.arch_settings)


@pytest.mark.parametrize('arch,head_dim', HEAD_DIMS)
def test_padded_attention_equals_unpadded(arch, head_dim):
    gen = torch_generator(head_dim)
    # [B, heads, N, head_dim]; N = 2x2 patches of a 16x16 map: 64 tokens
    q, k, v = (torch.randn(2, 4, 64, head_dim, generator=gen,
                           requires_grad=True) for _ in range(3))
    expected = F.scaled_dot_product_attention(q, k, v)
    grads_expected = torch.autograd.grad(expected.square().sum(), (q, k, v))
    actual = padded_attention(q, k, v)
    assert actual.shape == expected.shape
    assert_close(actual, expected, what=f'{arch} head dim {head_dim}')
    grads = torch.autograd.grad(actual.square().sum(), (q, k, v))
    assert_close(grads, grads_expected, what='gradients')


def test_attention_module_pads_only_on_cuda_half(monkeypatch):
    cpu = torch.zeros(1, 1, 1, 20)
    assert not transformer._needs_padding(cpu)  # CPU fp32: unchanged
    assert not transformer._needs_padding(cpu.bfloat16())
    # forced on the CPU, the module's padded path gives the same outputs
    attn = MultiheadSelfAttention(embed_dims=80, num_heads=4).eval()  # dim 20
    x = torch.randn(2, 64, 80, generator=torch_generator(1))
    with torch.no_grad():
        expected = attn(x)
        calls = []

        def padded(*args, **kwargs):
            calls.append(args[0].shape[-1])
            return padded_attention(*args, **kwargs)

        monkeypatch.setattr(transformer, '_needs_padding', lambda t: True)
        monkeypatch.setattr(transformer, 'padded_attention', padded)
        actual = attn(x)
    assert calls == [20]
    assert_close(actual, expected)
