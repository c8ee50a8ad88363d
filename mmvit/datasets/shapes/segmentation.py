"""The generated shapes dataset as an mmseg dataset (needs mmseg)."""
from mmseg.datasets import BaseSegDataset

from mmvit.registry import DATASETS
from .first_use import GeneratedOnFirstUse
from .generator import SHAPE_CLASSES, ensure_shapes_dataset


@DATASETS.register_module()
class ShapesSegDataset(GeneratedOnFirstUse, BaseSegDataset):
    """mmseg's :class:`BaseSegDataset` over the class-index masks of the
    generated shapes dataset (:func:`mmvit.datasets.shapes.
    generate_shapes_dataset`): label 0 is background, ``k`` is
    ``SHAPE_CLASSES[k - 1]``, 255 is the ignore border.

    If ``generate`` is true and the split file is missing, the dataset is
    generated under ``data_root`` first, so a config trains out of the box.
    Everything else (loading, ``IoUMetric`` evaluation, visualisation) is
    mmseg's.

    Args:
        ann_file (str): Split file of image stems, e.g. ``splits/train.txt``.
        generate, num_train, num_val, seed: see
            :class:`~mmvit.datasets.shapes.GeneratedOnFirstUse`.
        **kwargs: :class:`BaseSegDataset` arguments (``data_root``,
            ``data_prefix``, ``pipeline``, ...).
    """
    METAINFO = dict(
        classes=('background', *SHAPE_CLASSES),
        palette=[[0, 0, 0], [220, 20, 60], [0, 130, 60], [30, 60, 220]])
    ENSURE = staticmethod(ensure_shapes_dataset)
    NUM_IMAGES = (2400, 200)
