"""What a checkpoint is: its key layout (format), its backbone family and
variant, and its task, read off the keys and one tensor width.

Every fact about the families comes from their records
(:data:`mmvit.models.backbones.families.FAMILIES`): the key that marks a
family in each format, the arch that key's width tells (the arch keys of
all families differ: ``'small'`` ..., ``'0.5'`` ...), the transformer
depths the key rules need.
"""
import re
from collections import OrderedDict
from typing import Dict, Iterable, Optional, Tuple

import torch

from mmvit.models.backbones.families import FAMILIES, family_of_arch

__all__ = [
    'FORMATS', 'FORMAT_NAMES', 'FormatMismatchError', 'check_format_and_arch',
    'detect_format_and_arch', 'detect_task', 'family', 'strip_module',
    'task_of_keys', 'transformer_depths'
]

FORMATS = ('cvnets', 'timm', 'hf', 'mmpretrain')
FORMAT_NAMES = {
    'cvnets': 'an ml-cvnets',
    'timm': 'a timm',
    'hf': 'an HF transformers',
    'mmpretrain': 'an mmpretrain',
    'mmvit': 'an mmvit',
}
# looser hints: the stem, to tell a truncated checkpoint from a foreign one
_HINTS = {
    'cvnets': r'^(encoder\.)?conv_1\.block\.conv\.weight$',
    'timm': r'^stem\.conv\.weight$',
    'hf': r'^(mobilevit\.)?conv_stem\.convolution\.weight$',
    'mmpretrain': r'(^|\.)layers\.0\.0\.conv\.0\.conv\.weight$',
}
# the head of each task in mmvit's layout
_MMVIT_HEADS = {
    'detector': 'bbox_head.',
    'segmentor': 'decode_head.',
    'classifier': 'head.'
}


class FormatMismatchError(ValueError):
    """The keys are in another layout than the one asked for."""

    def __init__(self, expected: str, found: str):
        self.expected, self.found = expected, found
        super().__init__(f'expected {FORMAT_NAMES.get(expected, expected)} '
                         f'checkpoint, but its keys are in the {found} '
                         'layout')


def family(arch: str) -> str:
    """The backbone family (``'MobileViT'``, ``'MobileViTv2'``, ...) of an
    arch key."""
    return family_of_arch(arch).name


def transformer_depths(arch: str) -> Dict[int, int]:
    """``{stage (1-based): transformer layers}`` of ``arch``, the context
    the key rules derive layer indices from."""
    return family_of_arch(arch).depths(arch)


def strip_module(
        state_dict: Dict[str,
                         torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Drop the ``module.`` prefix of DataParallel / DDP checkpoints."""
    if state_dict and all(k.startswith('module.') for k in state_dict):
        return OrderedDict(
            (k[len('module.'):], v) for k, v in state_dict.items())
    return state_dict


def detect_format_and_arch(
        state_dict: Dict[str, torch.Tensor]) -> Tuple[str, str]:
    """Return ``(format, arch)`` of a state dict of a registered backbone
    family (``format`` one of :data:`FORMATS` or ``'mmvit'``; ``arch`` an
    arch key of the family, see :func:`family`), from the key that marks
    the family and the width of its tensor, or raise a ``ValueError`` that
    says what was found."""
    found = {}  # family name -> (family, format, key, tensor) of its marker
    for record in FAMILIES.values():
        for fmt, marker in record.markers.items():
            key = next((k for k in state_dict if marker.pattern.search(k)),
                       None)
            if key is not None and record.name not in found:
                found[record.name] = (record, fmt, key, state_dict[key])
    if len(found) > 1:
        marked = {name: key for name, (_, _, key, _) in found.items()}
        raise ValueError(f'the keys mark several backbone families: {marked}')
    if found:
        (record, fmt, key, value), = found.values()
        width = value.shape[record.markers[fmt].axis]
        try:
            return fmt, record.arch_of_width(width)
        except ValueError as err:
            raise ValueError(f'{key} has width {width}: {err}') from None
    for fmt, hint in _HINTS.items():
        if any(re.search(hint, k) for k in state_dict):
            markers = ' or '.join(
                record.markers[fmt].pattern.pattern
                for record in FAMILIES.values() if fmt in record.markers)
            raise ValueError(
                f'this looks like {FORMAT_NAMES[fmt]} checkpoint, but it '
                'lacks the stage-5 transformer that tells the MobileViT '
                f'variant (no key like {markers})')
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
    (a family name, see :func:`family`) or ``arch``."""
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
    return task_of_keys(state_dict, _MMVIT_HEADS)


def task_of_keys(keys: Iterable[str], heads: Dict[str, str]) -> str:
    """The first task of ``heads`` (task -> key prefix of its head) with a
    key under its prefix; ``'backbone'`` for none."""
    keys = list(keys)
    for task, prefix in heads.items():
        if any(k.startswith(prefix) for k in keys):
            return task
    return 'backbone'
