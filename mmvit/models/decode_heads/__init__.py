"""Segmentation decode heads (need mmseg)."""
from .deeplabv3_head import ASPPPooling, DeepLabV3Head

__all__ = ['ASPPPooling', 'DeepLabV3Head']
