"""Task modules: the SSDLite anchor generator (needs mmdet)."""
from .ssdlite_anchor_generator import SSDLiteAnchorGenerator

__all__ = ['SSDLiteAnchorGenerator']
