"""The generated shapes classification set as an mmpretrain dataset (needs
mmpretrain): the demo's ImageNet, for pretraining the backbone that the
shapes detection and segmentation demos fine-tune."""
from mmpretrain.datasets import CustomDataset

from mmvit.registry import DATASETS
from .cls_generator import CLS_CLASSES, ensure_shapes_classification
from .first_use import GeneratedOnFirstUse


@DATASETS.register_module()
class ShapesClsDataset(GeneratedOnFirstUse, CustomDataset):
    """mmpretrain's :class:`CustomDataset` (annotation-file layout, as
    ImageNet's) over :func:`mmvit.datasets.shapes.
    generate_shapes_classification`: one shape or none per image, classes
    :data:`~mmvit.datasets.shapes.CLS_CLASSES`.

    If ``generate`` is true and ``data_root`` has no annotation files yet,
    the set is generated there first, so a config trains out of the box.

    Args:
        ann_file (str): ``meta/train.txt`` or ``meta/val.txt``.
        generate, num_train, num_val, seed: see
            :class:`~mmvit.datasets.shapes.GeneratedOnFirstUse`.
        **kwargs: :class:`CustomDataset` arguments (``data_root``,
            ``data_prefix``, ``pipeline``, ...).
    """
    METAINFO = dict(classes=CLS_CLASSES)
    ENSURE = staticmethod(ensure_shapes_classification)
    NUM_IMAGES = (4800, 400)
