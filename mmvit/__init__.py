"""mmvit: MobileViT for OpenMMLab (mmdet, mmseg, mmpretrain)."""
from . import compat
from .version import __version__

compat.apply()

__all__ = ['__version__']
