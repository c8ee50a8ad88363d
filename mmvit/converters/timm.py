"""timm ``mobilevit_{xxs,xs,s}`` (``ByobNet``) key layout -> mmvit.

timm's ``ConvNormAct`` names its parts ``.conv`` / ``.bn`` like mmcv's
``ConvModule``; the stages are numbered from 0 (``stages.2`` is mmvit's
``layer3``); a stage's final LayerNorm is ``norm`` (mmvit: the last entry of
``global_rep``).
"""
from collections import OrderedDict
from typing import Callable, Dict, List, Optional

import torch

from .detect import task_of_keys
from .key_rules import KeyRule
from .mmvit_keys import (MOBILEVIT_LAYER, STAGE_FROM_0, LayerNames,
                         convert_with_rules, global_rep_rules, task_rules)


def _conv_bn(timm: str, mmvit: str) -> List[KeyRule]:
    return [
        KeyRule(f'{timm}.{part}.{{t}}', f'{mmvit}.{part}.{{t}}',
                maps=STAGE_FROM_0) for part in ('conv', 'bn')
    ]


_LAYER = LayerNames(
    norm1='norm1', qkv='attn.qkv', proj='attn.proj', norm2='norm2',
    fc1='mlp.fc1', fc2='mlp.fc2')


def byobnet_rules(layer: LayerNames, mmvit: LayerNames) -> List[KeyRule]:
    """The rules every timm MobileViT layout shares (v1 and v2 are both
    ``ByobNet`` s): the stem, the MV2 blocks (every block of stages 1-2,
    block 0 of stages 3-5), the MobileViT block's local representation,
    its transformer layers (the names inside a layer: timm's ``layer``,
    mmvit's ``mmvit``), the final norm and the projection back."""
    return [
        *_conv_bn('stem', 'stem'),
        *_conv_bn('stages.{s}.{b}.conv1_1x1', 'layer{s}.{b}.conv.0'),
        *_conv_bn('stages.{s}.{b}.conv2_kxk', 'layer{s}.{b}.conv.1'),
        *_conv_bn('stages.{s}.{b}.conv3_1x1', 'layer{s}.{b}.conv.2'),
        *_conv_bn('stages.{s}.1.conv_kxk', 'layer{s}.1.local_rep.0'),
        KeyRule(
            'stages.{s}.1.conv_1x1.weight',
            'layer{s}.1.local_rep.1.conv.weight',
            maps=STAGE_FROM_0),
        *global_rep_rules(
            'stages.{s}.1.transformer.{i}',
            layer,
            mmvit,
            norm='stages.{s}.1.norm',
            maps=STAGE_FROM_0),
        *_conv_bn('stages.{s}.1.conv_proj', 'layer{s}.1.conv_proj'),
    ]


# v1 adds the fusion conv and the expansion layer before the classifier
BACKBONE_RULES: List[KeyRule] = [
    *byobnet_rules(_LAYER, MOBILEVIT_LAYER),
    *_conv_bn('stages.{s}.1.conv_fusion', 'layer{s}.1.conv_fusion'),
    *_conv_bn('final_conv', 'conv_1x1_exp'),
]
# a timm classifier's head, the same in v1 and v2
HEADS = {'classifier': ('', [KeyRule('head.fc.{t}', 'head.fc.{t}')])}


def rules(task: str) -> List[KeyRule]:
    """``'classifier'`` (with ``head.fc``) or ``'backbone'``."""
    return task_rules(task, BACKBONE_RULES, HEADS, 'timm', 'MobileViT')


def detect_task(keys) -> str:
    """Task of a timm-layout checkpoint from its head keys."""
    return task_of_keys(keys, {'classifier': 'head.fc.'})


def flip_stem_rgb_to_bgr(state_dict: Dict[str, torch.Tensor],
                         task: str) -> None:
    """Reverse the input channels of the stem conv of an mmvit state dict
    of ``task`` (in place), so a model trained on RGB takes the BGR images
    of mmvit's configs."""
    key = 'stem.conv.weight' if task == 'backbone' else \
        'backbone.stem.conv.weight'
    state_dict[key] = state_dict[key].flip(1).contiguous()


def from_timm(state_dict: Dict[str, torch.Tensor], family_name: str,
              rules_of: Callable[[str], List[KeyRule]], arch: Optional[str],
              rgb_to_bgr: bool, what: str) -> 'OrderedDict[str, torch.Tensor]':
    """A timm checkpoint of the backbone family ``family_name`` -> mmvit, by
    the rules ``rules_of(task)`` (``what``: the checkpoint in messages)."""
    out, task = convert_with_rules(state_dict, 'timm', family_name, arch,
                                   detect_task, rules_of, what)
    if rgb_to_bgr:
        flip_stem_rgb_to_bgr(out, task)
    return out


def timm_to_mmvit(state_dict: Dict[str, torch.Tensor],
                  arch: Optional[str] = None,
                  rgb_to_bgr: bool = True) -> 'OrderedDict[str, torch.Tensor]':
    """timm ``mobilevit_{s,xs,xxs}`` state dict -> mmvit.

    Args:
        state_dict (dict): The timm state dict.
        arch (str, optional): Expected variant; raise if the checkpoint is
            another. Defaults to None (any).
        rgb_to_bgr (bool): Reverse the input channels of the stem conv, so
            the model takes the BGR images of mmvit's configs (and of
            ml-cvnets). timm feeds its models RGB and scores its ported
            MobileViT weights on RGB images, so its stem expects RGB.
            Defaults to True.
    """
    return from_timm(state_dict, 'MobileViT', rules, arch, rgb_to_bgr, 'timm')
