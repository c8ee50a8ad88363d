"""mmvit datasets, samplers and transforms.

The multi-scale sampler, its dataset wrapper and transform
(``multiscale``), and the checked image loader and mask check
(``validation``, ``transforms``) need only mmengine and mmcv; the checked
COCO dataset and the generated "shapes" datasets (``shapes``) build on mmdet's CocoDataset,
mmseg's BaseSegDataset and mmpretrain's CustomDataset and are imported when
those toolboxes are installed.
"""
import importlib.util

from . import multiscale, shapes, transforms, validation
from .multiscale import (MultiScaleDataset, MultiScaleVariableBatchSampler,
                         SampledSizeTransform)
from .shapes import SHAPE_CLASSES, generate_shapes_dataset
from .transforms import CheckSegMap, LoadImageFromFileChecked

__all__ = [
    'CheckSegMap', 'LoadImageFromFileChecked', 'MultiScaleDataset',
    'MultiScaleVariableBatchSampler', 'SampledSizeTransform', 'SHAPE_CLASSES',
    'generate_shapes_dataset'
]

if importlib.util.find_spec('mmdet') is not None:
    from .coco import CheckedCocoDataset  # noqa: F401
    from .shapes import ShapesDetDataset  # noqa: F401
    __all__ += ['CheckedCocoDataset', 'ShapesDetDataset']
if importlib.util.find_spec('mmseg') is not None:
    from .shapes import ShapesSegDataset  # noqa: F401
    __all__.append('ShapesSegDataset')
if importlib.util.find_spec('mmpretrain') is not None:
    from .shapes import ShapesClsDataset  # noqa: F401
    __all__.append('ShapesClsDataset')
