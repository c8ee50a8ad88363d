"""timm ``mobilevit_{xxs,xs,s}`` (``ByobNet``) key layout -> mmvit.

timm's ``ConvNormAct`` names its parts ``.conv`` / ``.bn`` like mmcv's
``ConvModule``; the stages are numbered from 0 (``stages.2`` is mmvit's
``layer3``); a stage's final LayerNorm is ``norm`` (mmvit: the last entry of
``global_rep``).
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from .detect import check_format_and_arch, strip_module, transformer_depths
from .key_rules import KeyRule, apply_rules, prefixed

_STAGE = {'s': (lambda s: s + 1, lambda s: s - 1)}


def _depth(fields: dict, context: dict) -> int:
    return context['depths'][fields['s']]


def _conv_bn(timm: str, mmvit: str) -> List[KeyRule]:
    return [
        KeyRule(f'{timm}.{part}.{{t}}', f'{mmvit}.{part}.{{t}}', maps=_STAGE)
        for part in ('conv', 'bn')
    ]


_TRANSFORMER = [
    ('norm1', 'ln1'),
    ('attn.qkv', 'attn.qkv'),
    ('attn.proj', 'attn.proj'),
    ('norm2', 'ln2'),
    ('mlp.fc1', 'ffn.0'),
    ('mlp.fc2', 'ffn.3'),
]

def byobnet_rules(transformer: Sequence[Tuple[str, str]]) -> List[KeyRule]:
    """The rules every timm MobileViT layout shares (v1 and v2 are both
    ``ByobNet`` s): the stem, the MV2 blocks (every block of stages 1-2,
    block 0 of stages 3-5), the MobileViT block's local representation,
    its transformer layers (``transformer``: ``(timm, mmvit)`` name pairs
    inside a layer), the final norm and the projection back."""
    return [
        *_conv_bn('stem', 'stem'),
        *_conv_bn('stages.{s}.{b}.conv1_1x1', 'layer{s}.{b}.conv.0'),
        *_conv_bn('stages.{s}.{b}.conv2_kxk', 'layer{s}.{b}.conv.1'),
        *_conv_bn('stages.{s}.{b}.conv3_1x1', 'layer{s}.{b}.conv.2'),
        *_conv_bn('stages.{s}.1.conv_kxk', 'layer{s}.1.local_rep.0'),
        KeyRule(
            'stages.{s}.1.conv_1x1.weight',
            'layer{s}.1.local_rep.1.conv.weight',
            maps=_STAGE),
        *[
            KeyRule(
                f'stages.{{s}}.1.transformer.{{i}}.{tm}.{{t}}',
                f'layer{{s}}.1.global_rep.{{i}}.{mm}.{{t}}',
                maps=_STAGE) for tm, mm in transformer
        ],
        KeyRule(
            'stages.{s}.1.norm.{t}',
            'layer{s}.1.global_rep.{depth}.{t}',
            maps=_STAGE,
            derived={'depth': _depth}),
        *_conv_bn('stages.{s}.1.conv_proj', 'layer{s}.1.conv_proj'),
    ]


# v1 adds the fusion conv and the expansion layer before the classifier
BACKBONE_RULES: List[KeyRule] = [
    *byobnet_rules(_TRANSFORMER),
    *_conv_bn('stages.{s}.1.conv_fusion', 'layer{s}.1.conv_fusion'),
    *_conv_bn('final_conv', 'conv_1x1_exp'),
]


def rules(task: str) -> List[KeyRule]:
    """``'classifier'`` (with ``head.fc``) or ``'backbone'``."""
    if task == 'backbone':
        return BACKBONE_RULES
    if task == 'classifier':
        return prefixed(BACKBONE_RULES, '',
                        'backbone.') + [KeyRule('head.fc.{t}', 'head.fc.{t}')]
    raise ValueError(f'timm has no MobileViT {task} models')


def detect_task(keys) -> str:
    """Task of a timm-layout checkpoint from its head keys."""
    return ('classifier' if any(k.startswith('head.fc.')
                                for k in keys) else 'backbone')


def flip_stem_rgb_to_bgr(state_dict: Dict[str, torch.Tensor],
                         stem_key: str) -> None:
    """Reverse the input channels of the stem conv (in place), so a model
    trained on RGB takes the BGR images of mmvit's configs."""
    state_dict[stem_key] = state_dict[stem_key].flip(1).contiguous()


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
    state_dict = strip_module(state_dict)
    _, arch = check_format_and_arch(
        state_dict, 'timm', arch, backbone='MobileViT')
    task = detect_task(state_dict)
    out = apply_rules(state_dict, rules(task),
                      dict(depths=transformer_depths(arch)), f'timm {task}')
    if rgb_to_bgr:
        flip_stem_rgb_to_bgr(
            out, 'stem.conv.weight'
            if task == 'backbone' else 'backbone.stem.conv.weight')
    return out
