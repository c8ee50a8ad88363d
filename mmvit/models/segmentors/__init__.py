"""Segmentors (need mmseg)."""
from .resize_mode_encoder_decoder import ResizeModeEncoderDecoder

__all__ = ['ResizeModeEncoderDecoder']
