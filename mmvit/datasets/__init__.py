"""mmvit datasets, samplers and transforms.

The multi-scale sampler, its dataset wrapper and transform, and the checked
image loader and mask check (``checks``, ``transforms``) need only mmengine
and mmcv; the checked COCO dataset and the generated "shapes" datasets build
on mmdet's CocoDataset, mmseg's BaseSegDataset and mmpretrain's
CustomDataset and are imported when those toolboxes are installed.
"""
import importlib.util

from . import checks, samplers, shapes, transforms
from .samplers import MultiScaleVariableBatchSampler
from .shapes import SHAPE_CLASSES, generate_shapes_dataset
from .transforms import (CheckSegMap, LoadImageFromFileChecked,
                         SampledSizeTransform)
from .wrappers import MultiScaleDataset

__all__ = [
    'CheckSegMap', 'LoadImageFromFileChecked', 'MultiScaleDataset',
    'MultiScaleVariableBatchSampler', 'SampledSizeTransform', 'SHAPE_CLASSES',
    'generate_shapes_dataset'
]

if importlib.util.find_spec('mmdet') is not None:
    from .coco import CheckedCocoDataset  # noqa: F401
    from .shapes_detection import ShapesDetDataset  # noqa: F401
    __all__ += ['CheckedCocoDataset', 'ShapesDetDataset']
if importlib.util.find_spec('mmseg') is not None:
    from .shapes_segmentation import ShapesSegDataset  # noqa: F401
    __all__.append('ShapesSegDataset')
if importlib.util.find_spec('mmpretrain') is not None:
    from .shapes_classification import ShapesClsDataset  # noqa: F401
    __all__.append('ShapesClsDataset')
