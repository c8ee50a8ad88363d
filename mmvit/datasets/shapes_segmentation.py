"""Old home of :mod:`mmvit.datasets.shapes.segmentation` (needs mmseg)."""
# re-export for one release (issue 15)
from .shapes.segmentation import ShapesSegDataset

__all__ = ['ShapesSegDataset']
