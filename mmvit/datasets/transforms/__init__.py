"""Data transforms."""
# re-export for one release (issue 15): it lives in mmvit.datasets.multiscale
from ..multiscale.transform import SAMPLED_SIZE_KEY, SampledSizeTransform
from .filter_crowd_boxes import FilterCrowdBoxes
from .loading import LoadImageFromFileChecked
from .seg_map import CheckSegMap
from .ssd_random_crop import SSDRandomCrop

__all__ = [
    'CheckSegMap', 'FilterCrowdBoxes', 'LoadImageFromFileChecked',
    'SAMPLED_SIZE_KEY', 'SampledSizeTransform', 'SSDRandomCrop'
]
from .cvnets_seg import RandomCropScaleUp, RandomShortSideResize  # noqa: E402

__all__ += ['RandomCropScaleUp', 'RandomShortSideResize']
