"""FLOP counting for MobileViT models with mmengine's analyzer.

mmengine's ``FlopAnalyzer`` has no handle for the fused
``aten::scaled_dot_product_attention`` op, so attention would be left out of
the count; :func:`count_flops` adds one (a multiply-add counts as one FLOP,
mmengine's convention, which is what OpenMMLab model zoos report).
:class:`NetworkForward` turns the network forward of a whole detector,
segmentor or classifier (or of a timm model) into a module's ``forward``, so
that it can be counted and timed (``tools/analysis/get_flops.py``,
``tools/analysis/benchmark.py``).
"""
from typing import Any, List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer
from mmengine.analysis.jit_handles import get_shape
from mmengine.model import BaseModel


def sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """``q @ k^T`` and ``attn @ v`` of scaled-dot-product attention."""
    q_shape, k_shape, v_shape = (get_shape(v) for v in inputs[:3])
    *batch, num_queries, head_dims = q_shape
    num_keys, value_dims = k_shape[-2], v_shape[-1]
    batch_size = 1
    for size in batch:
        batch_size *= size
    return batch_size * num_queries * num_keys * (head_dims + value_dims)


class NetworkForward(nn.Module):
    """The network forward of a model, without pre- or post-processing, as
    this module's ``forward(x)``.

    Args:
        model (nn.Module): The wrapped model.
        method (str, optional): The name of the model's method that runs the
            network on an image tensor, such as timm's
            ``'forward_features'``. Defaults to None: ``model(x,
            mode='tensor')`` of an mmengine model (the backbone, neck and
            head of an mmdet / mmseg / mmpretrain model).

    Raises:
        TypeError: ``method`` is None and ``model`` is no mmengine
            ``BaseModel`` (which alone has a ``'tensor'`` mode).
        AttributeError: ``model`` has no method ``method``.
    """

    def __init__(self, model: nn.Module, method: Optional[str] = None):
        super().__init__()
        if method is None and not isinstance(model, BaseModel):
            raise TypeError(
                f'{type(model).__name__} is not an mmengine BaseModel, so it '
                "has no mode='tensor'; name the method that runs its network "
                "(e.g. method='forward_features')")
        if method is not None and not callable(getattr(model, method, None)):
            raise AttributeError(
                f'{type(model).__name__} has no method {method!r}')
        self.model = model
        self.method = method

    def forward(self, x: torch.Tensor) -> Any:
        if self.method is not None:
            return getattr(self.model, self.method)(x)
        if hasattr(self.model, 'rpn_head'):
            # an mmdet two-stage detector: its RPN proposes boxes from the
            # image shapes of the data samples even in tensor mode
            return self.model(x, _image_samples(x), mode='tensor')
        return self.model(x, mode='tensor')


def _image_samples(x: torch.Tensor) -> list:
    """One mmdet ``DetDataSample`` per image of ``x``, the whole (unpadded,
    unscaled) tensor being the image."""
    from mmdet.structures import DetDataSample
    shape = tuple(x.shape[-2:])
    return [
        DetDataSample(
            metainfo=dict(
                img_shape=shape,
                ori_shape=shape,
                pad_shape=shape,
                batch_input_shape=shape,
                scale_factor=(1., 1.))) for _ in range(x.shape[0])
    ]


def count_flops(model: nn.Module, inputs: Tuple[torch.Tensor, ...]) -> int:
    """Total FLOPs (multiply-adds) of ``model(*inputs)``, traced without
    autograd."""
    analyzer = FlopAnalyzer(model, inputs)
    analyzer.set_op_handle(
        'aten::scaled_dot_product_attention', sdpa_flop_jit)
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    with torch.no_grad():
        return analyzer.total()
