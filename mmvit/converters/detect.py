"""What a MobileViT / MobileViTv2 checkpoint is: its key layout (format),
its variant and its task, read off the keys and one tensor width.

Every fact about the variants comes from the backbones' tables
(``MobileViT.arch_settings``, ``MobileViTv2.arch_settings``): the token
width of the stage-5 transformer tells the variant (the v1 keys ``'small'``
... and the v2 widths ``'0.5'`` ... never collide), its transformer depths
drive the key rules.
"""
import re
from collections import OrderedDict
from typing import Dict, Optional, Tuple

import torch

from mmvit.models.backbones.mobilevit import ARCH_SETTINGS
from mmvit.models.backbones.mobilevitv2 import \
    ARCH_SETTINGS as V2_ARCH_SETTINGS
from mmvit.models.backbones.mobilevitv2 import arch_of_last_attn_dim

__all__ = [
    'FORMATS', 'FORMAT_NAMES', 'FormatMismatchError', 'check_format_and_arch',
    'detect_format_and_arch', 'detect_task', 'family', 'strip_module',
    'transformer_depths'
]

FORMATS = ('cvnets', 'timm', 'hf', 'mmpretrain')
FORMAT_NAMES = {
    'cvnets': 'an ml-cvnets',
    'timm': 'a timm',
    'hf': 'an HF transformers',
    'mmpretrain': 'an mmpretrain',
    'mmvit': 'an mmvit',
}

# MobileViTv2, format -> (the key of a stage-5 attention tensor, the axis
# whose size is the stage-5 token width). Checked before v1's: timm's v1
# marker also matches v2 checkpoints.
V2_MARKERS = {
    'cvnets': (re.compile(r'^(encoder\.)?layer_5\.1\.global_rep\.0\.'
                          r'pre_norm_attn\.0\.weight$'), 0),
    'timm': (re.compile(r'^stages\.4\.1\.transformer\.0\.attn\.qkv_proj\.'
                        r'weight$'), 1),
    'mmvit': (re.compile(r'^(backbone\.)?layer5\.1\.global_rep\.0\.'
                         r'norm1\.weight$'), 0),
}
# MobileViT, format -> the key of the first stage-5 transformer layer's
# norm, whose width is the variant's stage-5 token width
_MARKERS = {
    'mmpretrain':
    re.compile(r'(^|\.)layers\.4\.1\.global_rep\.0\.ln1\.weight$'),
    'cvnets':
    re.compile(r'^(encoder\.)?layer_5\.1\.global_rep\.0\.pre_norm_mha\.0'
               r'\.weight$'),
    'timm':
    re.compile(r'^stages\.4\.1\.transformer\.0\.norm1\.weight$'),
    'hf':
    re.compile(r'^(mobilevit\.)?encoder\.layer\.4\.transformer\.layer\.0\.'
               r'layernorm_before\.weight$'),
    'mmvit':
    re.compile(r'^(backbone\.)?layer5\.1\.global_rep\.0\.ln1\.weight$'),
}
# looser hints: the stem, to tell a truncated checkpoint from a foreign one
_HINTS = {
    'cvnets': re.compile(r'^(encoder\.)?conv_1\.block\.conv\.weight$'),
    'timm': re.compile(r'^stem\.conv\.weight$'),
    'hf': re.compile(r'^(mobilevit\.)?conv_stem\.convolution\.weight$'),
    'mmpretrain': re.compile(r'(^|\.)layers\.0\.0\.conv\.0\.conv\.weight$'),
}
_ARCH_BY_LAYER5_DIM = {
    setting['stages'][4].transformer_dim: arch
    for arch, setting in ARCH_SETTINGS.items()
}


class FormatMismatchError(ValueError):
    """The keys are in another layout than the one asked for."""

    def __init__(self, expected: str, found: str):
        self.expected, self.found = expected, found
        super().__init__(f'expected {FORMAT_NAMES.get(expected, expected)} '
                         f'checkpoint, but its keys are in the {found} '
                         'layout')


def family(arch: str) -> str:
    """``'MobileViT'`` or ``'MobileViTv2'``: the backbone of an arch key."""
    if arch in V2_ARCH_SETTINGS:
        return 'MobileViTv2'
    if arch in ARCH_SETTINGS:
        return 'MobileViT'
    raise KeyError(f'unknown arch {arch!r}; MobileViT archs are '
                   f'{list(ARCH_SETTINGS)}, MobileViTv2 widths '
                   f'{list(V2_ARCH_SETTINGS)}')


def transformer_depths(arch: str) -> Dict[int, int]:
    """``{stage (1-based): transformer layers}`` of the MobileViT stages of
    ``arch``, the context the key rules derive layer indices from."""
    return {
        i + 1: stage.num_transformer_blocks
        for i, stage in enumerate(ARCH_SETTINGS[arch]['stages'])
        if stage.block == 'mobilevit'
    }


def strip_module(
        state_dict: Dict[str,
                         torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Drop the ``module.`` prefix of DataParallel / DDP checkpoints."""
    if state_dict and all(k.startswith('module.') for k in state_dict):
        return OrderedDict(
            (k[len('module.'):], v) for k, v in state_dict.items())
    return state_dict


def _arch_of(key: str, value: torch.Tensor) -> str:
    dim = value.shape[0]
    if dim not in _ARCH_BY_LAYER5_DIM:
        raise ValueError(f'{key} has width {dim}; known MobileViT widths are '
                         f'{_ARCH_BY_LAYER5_DIM}')
    return _ARCH_BY_LAYER5_DIM[dim]


def detect_format_and_arch(
        state_dict: Dict[str, torch.Tensor]) -> Tuple[str, str]:
    """Return ``(format, arch)`` of a MobileViT / MobileViTv2 state dict
    (``format`` one of ``'cvnets'``, ``'timm'``, ``'hf'``, ``'mmpretrain'``,
    ``'mmvit'``; ``arch`` a key of ``MobileViT.arch_settings`` or of
    ``MobileViTv2.arch_settings``, see :func:`family`), from its keys and the
    width of its stage-5 transformer, or raise a ``ValueError`` that says
    what was found."""
    for fmt, (marker, axis) in V2_MARKERS.items():
        for key, value in state_dict.items():
            if marker.search(key):
                return fmt, arch_of_last_attn_dim(value.shape[axis])
    for fmt, marker in _MARKERS.items():
        for key, value in state_dict.items():
            if marker.search(key):
                return fmt, _arch_of(key, value)
    for fmt, hint in _HINTS.items():
        if any(hint.search(k) for k in state_dict):
            raise ValueError(
                f'this looks like {FORMAT_NAMES[fmt]} checkpoint, but it '
                'lacks the stage-5 transformer that tells the MobileViT '
                f'variant (no key like {_MARKERS[fmt].pattern})')
    sample = ', '.join(list(state_dict)[:5])
    raise ValueError('not a MobileViT checkpoint in a known format; its first '
                     f'keys are: {sample}')


def check_format_and_arch(
        state_dict: Dict[str, torch.Tensor],
        fmt: Optional[str] = None,
        arch: Optional[str] = None,
        backbone: Optional[str] = None) -> Tuple[str, str]:
    """:func:`detect_format_and_arch`, raising when the checkpoint is not of
    the expected ``fmt`` (:class:`FormatMismatchError`), ``backbone``
    (``'MobileViT'`` / ``'MobileViTv2'``, see :func:`family`) or ``arch``."""
    found_fmt, found_arch = detect_format_and_arch(state_dict)
    if fmt is not None and found_fmt != fmt:
        raise FormatMismatchError(fmt, found_fmt)
    if backbone is not None and family(found_arch) != backbone:
        raise ValueError(
            f'not {FORMAT_NAMES[found_fmt]} {backbone} checkpoint: its keys '
            f'are those of {family(found_arch)} {found_arch!r}')
    if arch is not None and arch != found_arch:
        raise ValueError(f'expected {family(arch)} {arch!r}, but the '
                         f'checkpoint is {family(found_arch)} {found_arch!r}')
    return found_fmt, found_arch


def detect_task(state_dict: Dict[str, torch.Tensor]) -> str:
    """Task of an mmvit-layout state dict, one of :data:`mmvit.apis.TASKS`
    (``'backbone'`` for bare backbone keys)."""
    heads = {
        'detector': 'bbox_head.',
        'segmentor': 'decode_head.',
        'classifier': 'head.'
    }
    for task, prefix in heads.items():
        if any(k.startswith(prefix) for k in state_dict):
            return task
    return 'backbone'
