"""timm ``mobilevitv2_{050,075,100,125,150,175,200}`` (``ByobNet``) key
layout -> mmvit ``MobileViTv2``.

timm's ``ConvNormAct`` names its parts ``.conv`` / ``.bn`` like mmcv's
``ConvModule``; its stages are numbered from 0 (``stages.2`` is mmvit's
``layer3``); a MobileViTv2 block keeps its transformer layers in
``transformer`` and its final GroupNorm in ``norm`` (mmvit: the last entry of
``global_rep``). timm's ``mobilevitv2_*`` weights are ml-cvnets' v2 release
ported as they are: trained on RGB images, like timm feeds its models.
"""
from collections import OrderedDict
from typing import Dict, List, Optional

import torch

from mmvit.models.backbones.families import FAMILIES
from .detect import detect_format_and_arch, family
from .key_rules import KeyRule
from .mmvit_keys import MOBILEVITV2_LAYER, LayerNames, task_rules
from .timm import HEADS, byobnet_rules, detect_task, from_timm

__all__ = [
    'MARKER', 'arch_of', 'detect_task', 'rules', 'timm_v2_to_mmvit'
]

#: The key that tells a timm MobileViTv2 checkpoint (v1's transformer has
#: ``attn.qkv``, v2's ``attn.qkv_proj``) and, by its input width, the width.
MARKER = FAMILIES['MobileViTv2'].markers['timm'].pattern

# rows query | keys | values in both
_LAYER = LayerNames(
    norm1='norm1', qkv='attn.qkv_proj', proj='attn.out_proj', norm2='norm2',
    fc1='mlp.fc1', fc2='mlp.fc2')

BACKBONE_RULES: List[KeyRule] = byobnet_rules(_LAYER, MOBILEVITV2_LAYER)


def rules(task: str) -> List[KeyRule]:
    """Key rules of a timm MobileViTv2 checkpoint of ``task``
    (``'backbone'``: a bare backbone, ``'classifier'``: the ImageNet model,
    mmvit keys ``backbone.*`` + ``head.fc.*``), with the context
    ``dict(depths=transformer_depths(arch))``."""
    return task_rules(task, BACKBONE_RULES, HEADS, 'timm', 'MobileViTv2')


def arch_of(state_dict: Dict[str, torch.Tensor]) -> str:
    """Width (a key of ``MobileViTv2.arch_settings``) of a timm MobileViTv2
    state dict, from the input width of its stage-5 ``qkv_proj``
    (:data:`MARKER`)."""
    fmt, arch = detect_format_and_arch(state_dict)
    if fmt != 'timm' or family(arch) != 'MobileViTv2':
        raise ValueError('not a timm MobileViTv2 checkpoint: it has no key '
                         f'like {MARKER.pattern}')
    return arch


def timm_v2_to_mmvit(
        state_dict: Dict[str, torch.Tensor],
        arch: Optional[str] = None,
        rgb_to_bgr: bool = True) -> 'OrderedDict[str, torch.Tensor]':
    """timm ``mobilevitv2_*`` state dict -> mmvit ``MobileViTv2``
    (``backbone.*`` + ``head.fc.*`` for a classifier, bare backbone keys for
    a backbone); tensors are shared except the stem's.

    Args:
        state_dict (dict): The timm state dict.
        arch (str, optional): Expected width (``'0.5'`` ... ``'2.0'``); raise
            if the checkpoint is another. Defaults to None (any).
        rgb_to_bgr (bool): Reverse the input channels of the stem conv, so
            that the model takes the BGR images of mmvit's configs. timm's
            weights (ml-cvnets' v2 release) expect RGB. Defaults to True.
    """
    return from_timm(state_dict, 'MobileViTv2', rules, arch, rgb_to_bgr,
                     'timm MobileViTv2')
