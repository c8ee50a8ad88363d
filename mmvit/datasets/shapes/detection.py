"""The generated shapes dataset as an mmdet COCO dataset (needs mmdet)."""
from mmvit.registry import DATASETS
from ..coco import CheckedCocoDataset
from .first_use import GeneratedOnFirstUse
from .generator import SHAPE_CLASSES, ensure_shapes_dataset


@DATASETS.register_module()
class ShapesDetDataset(GeneratedOnFirstUse, CheckedCocoDataset):
    """mmdet's :class:`CocoDataset` (with mmvit's checks,
    :class:`CheckedCocoDataset`) over the generated shapes dataset
    (:func:`mmvit.datasets.shapes.generate_shapes_dataset`).

    If ``generate`` is true and ``data_root`` has no annotations yet, the
    dataset is generated there first, so a config trains out of the box.
    Everything else (parsing, crowd boxes, filtering, evaluation with
    ``CocoMetric``) is mmdet's.

    Args:
        generate, num_train, num_val, seed: see
            :class:`~mmvit.datasets.shapes.GeneratedOnFirstUse`.
        **kwargs: :class:`CheckedCocoDataset` arguments (``data_root``,
            ``ann_file``, ``data_prefix``, ``pipeline``, ...).
    """
    METAINFO = dict(
        classes=SHAPE_CLASSES,
        palette=[(220, 20, 60), (0, 130, 60), (30, 60, 220)])
    ENSURE = staticmethod(ensure_shapes_dataset)
    NUM_IMAGES = (2400, 200)
