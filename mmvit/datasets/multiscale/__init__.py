"""MobileViT's multi-scale variable-batch sampler and what it needs.

* :mod:`.scale_table`: the ``(height, width, batch size)`` table;
* :mod:`.sampler`: :class:`MultiScaleVariableBatchSampler`, which draws a
  size per batch from the table and tags each index with it;
* :mod:`.dataset`: :class:`MultiScaleDataset`, which hands that size to the
  data pipeline;
* :mod:`.transform`: :class:`SampledSizeTransform`, which runs a resize or
  crop at that size.

Only mmengine and mmcv are needed.
"""
from .dataset import MultiScaleDataset
from .sampler import MultiScaleVariableBatchSampler, SizedIndex
from .scale_table import ScaleBatch, build_scale_table, min_batches_for
from .transform import SAMPLED_SIZE_KEY, SampledSizeTransform

__all__ = [
    'MultiScaleDataset', 'MultiScaleVariableBatchSampler', 'SAMPLED_SIZE_KEY',
    'SampledSizeTransform', 'ScaleBatch', 'SizedIndex', 'build_scale_table',
    'min_batches_for'
]
