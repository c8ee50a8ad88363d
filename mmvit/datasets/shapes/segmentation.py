"""The generated shapes dataset as an mmseg dataset (needs mmseg)."""
from typing import List

from mmseg.datasets import BaseSegDataset

from mmvit.registry import DATASETS
from .generator import SHAPE_CLASSES, GeneratedOnFirstUse


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
        generate (bool): Generate the data if missing. Defaults to True.
        num_train (int): Training images to generate. Defaults to 2400.
        num_val (int): Validation images to generate. Defaults to 200.
        seed (int): Generation seed. Defaults to 0.
        **kwargs: :class:`BaseSegDataset` arguments (``data_root``,
            ``data_prefix``, ``pipeline``, ...).
    """
    METAINFO = dict(
        classes=('background', *SHAPE_CLASSES),
        palette=[[0, 0, 0], [220, 20, 60], [0, 130, 60], [30, 60, 220]])

    def __init__(self,
                 ann_file: str,
                 generate: bool = True,
                 num_train: int = 2400,
                 num_val: int = 200,
                 seed: int = 0,
                 **kwargs) -> None:
        self._set_generation(generate, num_train, num_val, seed)
        super().__init__(ann_file=ann_file, **kwargs)

    def load_data_list(self) -> List[dict]:
        self._ensure_generated()
        return super().load_data_list()
