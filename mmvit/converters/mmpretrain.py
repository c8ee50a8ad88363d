"""mmpretrain ``MobileViT`` (classifier or backbone) key layout -> mmvit.

mmpretrain keeps the stages in ``layers`` (0-based) and the transformer FFN
as mmcv's ``FFN``; mmvit names the stages ``layer1`` ... ``layer5`` and keeps
the FFN as a flat ``Sequential``.
"""
import re
from collections import OrderedDict
from typing import Dict, Optional

import torch

from .detect import check_format_and_arch, strip_module


def _rename_backbone_key(key: str) -> str:
    key = re.sub(r'^layers\.(\d)\.', lambda m: f'layer{int(m.group(1)) + 1}.',
                 key)
    key = key.replace('.ffn.layers.0.0.', '.ffn.0.')
    return key.replace('.ffn.layers.1.', '.ffn.3.')


def mmpretrain_to_mmvit(
        state_dict: Dict[str, torch.Tensor],
        arch: Optional[str] = None) -> 'OrderedDict[str, torch.Tensor]':
    """Rename an mmpretrain ``MobileViT`` state dict to mmvit's keys; tensors
    are shared, not copied. Keys outside the backbone (``head.fc.*``) are
    kept as they are.

    Args:
        state_dict (dict): The mmpretrain state dict.
        arch (str, optional): Expected variant; raise if the checkpoint is
            another. Defaults to None (any).
    """
    state_dict = strip_module(state_dict)
    check_format_and_arch(
        state_dict, 'mmpretrain', arch, backbone='MobileViT')
    converted = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith('backbone.'):
            key = 'backbone.' + _rename_backbone_key(key[len('backbone.'):])
        elif not key.startswith(('head.', 'neck.', 'data_preprocessor.')):
            key = _rename_backbone_key(key)
        converted[key] = value
    return converted
