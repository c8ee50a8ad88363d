"""The generated shapes dataset as an mmdet COCO dataset (needs mmdet)."""
from typing import List

from mmvit.registry import DATASETS
from ..coco import CheckedCocoDataset
from .generator import SHAPE_CLASSES, GeneratedOnFirstUse


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
        generate (bool): Generate the data if missing. Defaults to True.
        num_train (int): Training images to generate. Defaults to 2400.
        num_val (int): Validation images to generate. Defaults to 200.
        seed (int): Generation seed. Defaults to 0.
        **kwargs: :class:`CheckedCocoDataset` arguments (``data_root``,
            ``ann_file``, ``data_prefix``, ``pipeline``, ...).
    """
    METAINFO = dict(
        classes=SHAPE_CLASSES,
        palette=[(220, 20, 60), (0, 130, 60), (30, 60, 220)])

    def __init__(self,
                 *args,
                 generate: bool = True,
                 num_train: int = 2400,
                 num_val: int = 200,
                 seed: int = 0,
                 **kwargs) -> None:
        self._set_generation(generate, num_train, num_val, seed)
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        self._ensure_generated()
        return super().load_data_list()
