"""Old home of :mod:`mmvit.datasets.multiscale.scale_table`."""
# re-export for one release (issue 15)
from ..multiscale.scale_table import (ScaleBatch, SizeArg, build_scale_table,
                                      make_divisible, min_batches_for, to_hw)

__all__ = [
    'ScaleBatch', 'SizeArg', 'build_scale_table', 'make_divisible',
    'min_batches_for', 'to_hw'
]
