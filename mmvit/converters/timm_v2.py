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

from mmvit.models.backbones.mobilevitv2 import attn_depths
from .detect import (V2_MARKERS, check_format_and_arch,
                     detect_format_and_arch, family, strip_module)
from .key_rules import KeyRule, apply_rules, prefixed
from .timm import byobnet_rules, flip_stem_rgb_to_bgr

__all__ = [
    'MARKER', 'TASKS', 'arch_of', 'detect_task', 'rule_context', 'rules',
    'timm_v2_to_mmvit'
]

#: The key that tells a timm MobileViTv2 checkpoint (v1's transformer has
#: ``attn.qkv``, v2's ``attn.qkv_proj``) and, by its input width, the width.
MARKER = V2_MARKERS['timm'][0]
#: The tasks timm has MobileViTv2 models for.
TASKS = ('backbone', 'classifier')

_TRANSFORMER = [
    ('norm1', 'norm1'),
    ('attn.qkv_proj', 'attn.qkv_proj'),  # rows query | keys | values in both
    ('attn.out_proj', 'attn.out_proj'),
    ('norm2', 'norm2'),
    ('mlp.fc1', 'ffn.0'),
    ('mlp.fc2', 'ffn.3'),
]

BACKBONE_RULES: List[KeyRule] = byobnet_rules(_TRANSFORMER)

CLS_HEAD_RULES = [KeyRule('head.fc.{t}', 'head.fc.{t}')]


def rules(task: str) -> List[KeyRule]:
    """Key rules of a timm MobileViTv2 checkpoint of ``task``
    (``'backbone'``: a bare backbone, ``'classifier'``: the ImageNet model,
    mmvit keys ``backbone.*`` + ``head.fc.*``). Use them with
    :func:`rule_context`."""
    if task == 'backbone':
        return BACKBONE_RULES
    if task == 'classifier':
        return prefixed(BACKBONE_RULES, '', 'backbone.') + CLS_HEAD_RULES
    raise ValueError(f'timm has no MobileViTv2 {task} models; valid tasks '
                     f'are {TASKS}')


def rule_context(arch: str) -> dict:
    """The context :func:`rules` need for the released width ``arch``: the
    transformer depth of each stage (where the final norm goes)."""
    return dict(depths=attn_depths(arch))


def arch_of(state_dict: Dict[str, torch.Tensor]) -> str:
    """Width (a key of ``MobileViTv2.arch_settings``) of a timm MobileViTv2
    state dict, from the input width of its stage-5 ``qkv_proj``
    (:data:`MARKER`)."""
    fmt, arch = detect_format_and_arch(state_dict)
    if fmt != 'timm' or family(arch) != 'MobileViTv2':
        raise ValueError('not a timm MobileViTv2 checkpoint: it has no key '
                         f'like {MARKER.pattern}')
    return arch


def detect_task(keys) -> str:
    """Task of a timm-layout checkpoint from its head keys."""
    return ('classifier' if any(k.startswith('head.fc.')
                                for k in keys) else 'backbone')


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
    state_dict = strip_module(state_dict)
    _, found = check_format_and_arch(
        state_dict, 'timm', arch, backbone='MobileViTv2')
    task = detect_task(state_dict)
    out = apply_rules(state_dict, rules(task), rule_context(found),
                      f'timm MobileViTv2 {task}')
    if rgb_to_bgr:
        flip_stem_rgb_to_bgr(
            out, 'stem.conv.weight'
            if task == 'backbone' else 'backbone.stem.conv.weight')
    return out
