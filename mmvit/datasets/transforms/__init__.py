"""Data transforms."""
from .loading import LoadImageFromFileChecked
from .sampled_size import SAMPLED_SIZE_KEY, SampledSizeTransform
from .seg_map import CheckSegMap

__all__ = [
    'CheckSegMap', 'LoadImageFromFileChecked', 'SAMPLED_SIZE_KEY',
    'SampledSizeTransform'
]
