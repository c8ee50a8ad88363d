"""The generated "shapes" demo data.

* :mod:`.generator`, :mod:`.cls_generator`: write the detection /
  segmentation set and the classification set (numpy and OpenCV only);
* :mod:`.first_use`: generates them on first use (:func:`ensure_generated`,
  :class:`GeneratedOnFirstUse`);
* :mod:`.detection`, :mod:`.segmentation`, :mod:`.classification`: the
  datasets over them for mmdet, mmseg and mmpretrain, imported when that
  toolbox is installed.
"""
import importlib.util

from .cls_generator import (CLS_CLASSES, ensure_shapes_classification,
                            generate_shapes_classification,
                            render_classification_image)
from .first_use import GeneratedOnFirstUse, ensure_generated
from .generator import (SHAPE_CLASSES, SPLITS, ensure_shapes_dataset,
                        generate_shapes_dataset)

__all__ = [
    'CLS_CLASSES', 'SHAPE_CLASSES', 'SPLITS', 'GeneratedOnFirstUse',
    'ensure_generated', 'ensure_shapes_classification',
    'ensure_shapes_dataset', 'generate_shapes_classification',
    'generate_shapes_dataset', 'render_classification_image'
]

if importlib.util.find_spec('mmdet') is not None:
    from .detection import ShapesDetDataset  # noqa: F401
    __all__.append('ShapesDetDataset')
if importlib.util.find_spec('mmseg') is not None:
    from .segmentation import ShapesSegDataset  # noqa: F401
    __all__.append('ShapesSegDataset')
if importlib.util.find_spec('mmpretrain') is not None:
    from .classification import ShapesClsDataset  # noqa: F401
    __all__.append('ShapesClsDataset')
