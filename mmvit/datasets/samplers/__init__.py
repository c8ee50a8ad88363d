"""Batch samplers for mmengine runners."""
# re-export for one release (issue 15): they live in mmvit.datasets.multiscale
from ..multiscale import (MultiScaleVariableBatchSampler, ScaleBatch,
                          SizedIndex, build_scale_table, min_batches_for)

__all__ = [
    'MultiScaleVariableBatchSampler', 'ScaleBatch', 'SizedIndex',
    'build_scale_table', 'min_batches_for'
]
