"""Detection heads (need mmdet)."""
from .ssdlite_head import SSDLiteHead

__all__ = ['SSDLiteHead']
