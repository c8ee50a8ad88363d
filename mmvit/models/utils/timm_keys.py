"""timm ``mobilevit_{xxs,xs,s}`` (``ByobNet``) key layout -> mmvit.

timm's ``ConvNormAct`` names its parts ``.conv`` / ``.bn`` like mmcv's
``ConvModule``; the stages are numbered from 0 (``stages.2`` is mmvit's
``layer3``); a stage's final LayerNorm is ``norm`` (mmvit: the last entry of
``global_rep``).
"""
from typing import List

from .key_rules import KeyRule, prefixed

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

BACKBONE_RULES: List[KeyRule] = [
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
            maps=_STAGE) for tm, mm in _TRANSFORMER
    ],
    KeyRule(
        'stages.{s}.1.norm.{t}',
        'layer{s}.1.global_rep.{depth}.{t}',
        maps=_STAGE,
        derived={'depth': _depth}),
    *_conv_bn('stages.{s}.1.conv_proj', 'layer{s}.1.conv_proj'),
    *_conv_bn('stages.{s}.1.conv_fusion', 'layer{s}.1.conv_fusion'),
    *_conv_bn('final_conv', 'conv_1x1_exp'),
]


def rules(task: str) -> List[KeyRule]:
    """``'classification'`` (with ``head.fc``) or ``'backbone'``."""
    if task == 'backbone':
        return BACKBONE_RULES
    if task == 'classification':
        return prefixed(BACKBONE_RULES, '',
                        'backbone.') + [KeyRule('head.fc.{t}', 'head.fc.{t}')]
    raise ValueError(f'timm has no MobileViT {task} models')


def detect_task(keys) -> str:
    return ('classification' if any(k.startswith('head.fc.')
                                    for k in keys) else 'backbone')
