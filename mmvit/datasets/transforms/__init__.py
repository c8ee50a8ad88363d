"""Data transforms."""
from .sampled_size import SAMPLED_SIZE_KEY, SampledSizeTransform

__all__ = ['SAMPLED_SIZE_KEY', 'SampledSizeTransform']
