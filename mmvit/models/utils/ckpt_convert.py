"""Convert public MobileViT checkpoints to mmvit's layout.

Supported now: mmpretrain's converted ml-cvnets weights
(``mobilevit-{small,xsmall,xxsmall}_3rdparty_in1k_*.pth``), whole classifier
(``backbone.*`` + ``head.fc.*``) or bare backbone state dicts.
"""
import re
from collections import OrderedDict
from typing import Dict, Tuple

import torch

# token width of the first transformer layer of stage 5 -> arch
_ARCH_BY_LAYER5_DIM = {240: 'small', 144: 'x_small', 96: 'xx_small'}
_MMPRETRAIN_MARKER = re.compile(r'(^|\.)layers\.4\.1\.global_rep\.0\.ln1\.')


def _rename_mmpretrain_backbone_key(key: str) -> str:
    # mmpretrain keeps stages in `layers` (0-based); mmvit names them
    # `layer1..layer5` and keeps the FFN as a flat Sequential
    key = re.sub(r'^layers\.(\d)\.',
                 lambda m: f'layer{int(m.group(1)) + 1}.', key)
    key = key.replace('.ffn.layers.0.0.', '.ffn.0.')
    return key.replace('.ffn.layers.1.', '.ffn.3.')


def mmpretrain_to_mmvit(
        state_dict: Dict[str, torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """Rename an mmpretrain ``MobileViT`` (classifier or backbone) state dict
    to mmvit's keys; tensors are shared, not copied. Keys outside the
    backbone (``head.fc.*``) are kept as they are."""
    converted = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith('backbone.'):
            key = 'backbone.' + _rename_mmpretrain_backbone_key(
                key[len('backbone.'):])
        elif not key.startswith(('head.', 'neck.', 'data_preprocessor.')):
            key = _rename_mmpretrain_backbone_key(key)
        converted[key] = value
    return converted


def detect_format_and_arch(state_dict: Dict[str, torch.Tensor]) -> Tuple[str, str]:
    """Return ``(format, arch)`` of a MobileViT state dict, from its keys and
    shapes, or raise a ``ValueError`` that says what was found."""
    for key, value in state_dict.items():
        if _MMPRETRAIN_MARKER.search(key):
            dim = value.shape[0]
            if dim not in _ARCH_BY_LAYER5_DIM:
                raise ValueError(
                    f'{key} has width {dim}; known MobileViT widths are '
                    f'{_ARCH_BY_LAYER5_DIM}')
            return 'mmpretrain', _ARCH_BY_LAYER5_DIM[dim]
    if any(k.endswith('conv_1.block.conv.weight') for k in state_dict):
        raise ValueError(
            'this looks like an ml-cvnets checkpoint; only mmpretrain-format '
            'MobileViT checkpoints can be converted so far')
    sample = ', '.join(list(state_dict)[:5])
    raise ValueError('not a MobileViT checkpoint in a known format; its first '
                     f'keys are: {sample}')
