"""Detection necks (need mmdet)."""
from .ssdlite_neck import SSDLiteNeck

__all__ = ['SSDLiteNeck']
