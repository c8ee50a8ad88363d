"""The generated shapes classification set as an mmpretrain dataset (needs
mmpretrain): the demo's ImageNet, for pretraining the backbone that the
shapes detection and segmentation demos fine-tune."""
from typing import List

from mmpretrain.datasets import CustomDataset

from mmvit.registry import DATASETS
from .generator import (CLS_CLASSES, GeneratedOnFirstUse,
                     ensure_shapes_classification)


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
        generate (bool): Generate the data if missing. Defaults to True.
        num_train (int): Training images to generate. Defaults to 4800.
        num_val (int): Validation images to generate. Defaults to 400.
        seed (int): Generation seed. Defaults to 0.
        **kwargs: :class:`CustomDataset` arguments (``data_root``,
            ``data_prefix``, ``pipeline``, ...).
    """
    METAINFO = dict(classes=CLS_CLASSES)

    def __init__(self,
                 ann_file: str,
                 generate: bool = True,
                 num_train: int = 4800,
                 num_val: int = 400,
                 seed: int = 0,
                 **kwargs) -> None:
        self._set_generation(generate, num_train, num_val, seed)
        super().__init__(ann_file=ann_file, **kwargs)

    def load_data_list(self) -> List[dict]:
        self._ensure_generated(ensure_shapes_classification)
        return super().load_data_list()
