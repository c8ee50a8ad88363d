"""Old home of :mod:`mmvit.datasets.multiscale.sampler`."""
# re-export for one release (issue 15)
from ..multiscale.sampler import MultiScaleVariableBatchSampler, SizedIndex

__all__ = ['MultiScaleVariableBatchSampler', 'SizedIndex']
