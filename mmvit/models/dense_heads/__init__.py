"""Detection heads (need mmdet)."""
from ... import compat
from .ssdlite_head import SSDLiteHead

compat.patch_mmdet_ssd_head()  # mmdet's own SSD heads predict too

__all__ = ['SSDLiteHead']
