"""Detection heads (need mmdet)."""
from ... import compat
# re-export for one release (issue 15): it lives in mmvit.models.task_modules
from ..task_modules import SSDLiteAnchorGenerator
from .ssdlite_head import SSDLiteHead

compat.patch_mmdet_ssd_head()  # mmdet's own SSD heads predict too

__all__ = ['SSDLiteAnchorGenerator', 'SSDLiteHead']
