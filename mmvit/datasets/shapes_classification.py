"""Old home of :mod:`mmvit.datasets.shapes.classification` (needs mmpretrain)."""
# re-export for one release (issue 15)
from .shapes.classification import ShapesClsDataset

__all__ = ['ShapesClsDataset']
