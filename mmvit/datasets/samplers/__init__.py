"""Batch samplers for mmengine runners."""
from .multi_scale_variable_batch_sampler import (
    MultiScaleVariableBatchSampler, SizedIndex)
from .scale_table import ScaleBatch, build_scale_table, min_batches_for

__all__ = [
    'MultiScaleVariableBatchSampler', 'ScaleBatch', 'SizedIndex',
    'build_scale_table', 'min_batches_for'
]
