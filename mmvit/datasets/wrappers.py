"""Old home of :mod:`mmvit.datasets.multiscale.dataset`."""
# re-export for one release (issue 15)
from .multiscale.dataset import MultiScaleDataset

__all__ = ['MultiScaleDataset']
