from .ckpt_convert import detect_format_and_arch, mmpretrain_to_mmvit

__all__ = ['detect_format_and_arch', 'mmpretrain_to_mmvit']
