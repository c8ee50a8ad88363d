"""FLOP counting for MobileViT models with mmengine's analyzer.

mmengine's ``FlopAnalyzer`` has no handle for the fused
``aten::scaled_dot_product_attention`` op, so attention would be left out of
the count; :func:`count_flops` adds one (a multiply-add counts as one FLOP,
mmengine's convention, which is what OpenMMLab model zoos report).
:class:`TensorMode` makes the network forward of a whole detector,
segmentor or classifier countable (``tools/analysis/get_flops.py``,
``tools/analysis/benchmark.py``).
"""
from typing import Any, List, Tuple

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer
from mmengine.analysis.jit_handles import get_shape


def sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """``q @ k^T`` and ``attn @ v`` of scaled-dot-product attention."""
    q_shape, k_shape, v_shape = (get_shape(v) for v in inputs[:3])
    *batch, num_queries, head_dims = q_shape
    num_keys, value_dims = k_shape[-2], v_shape[-1]
    batch_size = 1
    for size in batch:
        batch_size *= size
    return batch_size * num_queries * num_keys * (head_dims + value_dims)


class TensorMode(nn.Module):
    """``model(x, mode='tensor')`` as a module: the network forward of an
    mmengine model (backbone, neck and head, without pre- or
    post-processing), for FLOP counting."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor):
        return self.model(x, mode='tensor')


def count_flops(model: nn.Module, inputs: Tuple[torch.Tensor, ...]) -> int:
    """Total FLOPs (multiply-adds) of ``model(*inputs)``."""
    analyzer = FlopAnalyzer(model, inputs)
    analyzer.set_op_handle(
        'aten::scaled_dot_product_attention', sdpa_flop_jit)
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return analyzer.total()
