"""Old home of :mod:`mmvit.datasets.multiscale.transform`."""
# re-export for one release (issue 15)
from ..multiscale.transform import SAMPLED_SIZE_KEY, SampledSizeTransform

__all__ = ['SAMPLED_SIZE_KEY', 'SampledSizeTransform']
