"""Old home of :mod:`mmvit.datasets.shapes.detection` (needs mmdet)."""
# re-export for one release (issue 15)
from .shapes.detection import ShapesDetDataset

__all__ = ['ShapesDetDataset']
