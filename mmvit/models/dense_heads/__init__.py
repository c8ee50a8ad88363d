"""Detection heads and their anchor generator (need mmdet)."""
from .ssdlite_anchor_generator import SSDLiteAnchorGenerator
from .ssdlite_head import SSDLiteHead

__all__ = ['SSDLiteAnchorGenerator', 'SSDLiteHead']
