"""Data transforms."""
from .filter_crowd_boxes import FilterCrowdBoxes
from .loading import LoadImageFromFileChecked
from .seg_map import CheckSegMap
from .ssd_random_crop import SSDRandomCrop

__all__ = [
    'CheckSegMap', 'FilterCrowdBoxes', 'LoadImageFromFileChecked',
    'SSDRandomCrop'
]
from .cvnets_seg import RandomCropScaleUp, RandomShortSideResize  # noqa: E402

__all__ += ['RandomCropScaleUp', 'RandomShortSideResize']
