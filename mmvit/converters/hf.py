"""HF transformers ``MobileViTModel`` / ``MobileViTForImageClassification``
/ ``MobileViTForSemanticSegmentation`` key layout -> mmvit.

HF splits the attention input projection into ``query`` / ``key`` /
``value``; :func:`merge_qkv` stacks them back into one ``qkv`` matrix (rows
q | k | v, as cvnets and mmvit) before renaming.
"""
import re
from collections import OrderedDict
from typing import Dict, List, Optional

import torch

from .detect import check_format_and_arch, strip_module, transformer_depths
from .key_rules import KeyRule, apply_rules, prefixed

_STAGE = {'s': (lambda s: s + 1, lambda s: s - 1)}


def _depth(fields: dict, context: dict) -> int:
    return context['depths'][fields['s']]


def _conv_norm(hf: str, mmvit: str) -> List[KeyRule]:
    """HF ``MobileViTConvLayer`` (``.convolution`` / ``.normalization``) <->
    mmcv ``ConvModule`` (``.conv`` / ``.bn``)."""
    return [
        KeyRule(f'{hf}.convolution.{{t}}', f'{mmvit}.conv.{{t}}', maps=_STAGE),
        KeyRule(f'{hf}.normalization.{{t}}', f'{mmvit}.bn.{{t}}', maps=_STAGE),
    ]


def _mv2(hf: str, mmvit: str) -> List[KeyRule]:
    return [
        *_conv_norm(f'{hf}.expand_1x1', f'{mmvit}.conv.0'),
        *_conv_norm(f'{hf}.conv_3x3', f'{mmvit}.conv.1'),
        *_conv_norm(f'{hf}.reduce_1x1', f'{mmvit}.conv.2'),
    ]


_TRANSFORMER = [
    ('layernorm_before', 'ln1'),
    ('attention.attention.qkv', 'attn.qkv'),  # made by merge_qkv
    ('attention.output.dense', 'attn.proj'),
    ('layernorm_after', 'ln2'),
    ('intermediate.dense', 'ffn.0'),
    ('output.dense', 'ffn.3'),
]
_LAYER = 'encoder.layer.{s}'

BACKBONE_RULES: List[KeyRule] = [
    *_conv_norm('conv_stem', 'stem'),
    *_mv2(f'{_LAYER}.layer.{{b}}', 'layer{s}.{b}'),
    *_mv2(f'{_LAYER}.downsampling_layer', 'layer{s}.0'),
    *_conv_norm(f'{_LAYER}.conv_kxk', 'layer{s}.1.local_rep.0'),
    KeyRule(
        f'{_LAYER}.conv_1x1.convolution.weight',
        'layer{s}.1.local_rep.1.conv.weight',
        maps=_STAGE),
    *[
        KeyRule(
            f'{_LAYER}.transformer.layer.{{i}}.{hf}.{{t}}',
            f'layer{{s}}.1.global_rep.{{i}}.{mm}.{{t}}',
            maps=_STAGE) for hf, mm in _TRANSFORMER
    ],
    KeyRule(
        f'{_LAYER}.layernorm.{{t}}',
        'layer{s}.1.global_rep.{depth}.{t}',
        maps=_STAGE,
        derived={'depth': _depth}),
    *_conv_norm(f'{_LAYER}.conv_projection', 'layer{s}.1.conv_proj'),
    *_conv_norm(f'{_LAYER}.fusion', 'layer{s}.1.conv_fusion'),
    *_conv_norm('conv_1x1_exp', 'conv_1x1_exp'),
]

_ASPP = 'segmentation_head.aspp'
SEG_HEAD_RULES: List[KeyRule] = [
    *_conv_norm(f'{_ASPP}.convs.{{i}}', 'decode_head.aspp_convs.{i}'),
    *_conv_norm(f'{_ASPP}.convs.{{i}}.conv_1x1',
                'decode_head.aspp_convs.{i}.conv'),
    *_conv_norm(f'{_ASPP}.project', 'decode_head.project'),
    KeyRule('segmentation_head.classifier.convolution.{t}',
            'decode_head.conv_seg.{t}'),
]


def rules(task: str, prefix: str = 'mobilevit.') -> List[KeyRule]:
    """Rules of ``task``; a bare backbone's keys may carry ``prefix``
    (HF's ``MobileViTModel`` has none, the task models' backbone has it)."""
    if task == 'backbone':
        return BACKBONE_RULES + prefixed(BACKBONE_RULES, prefix, '')
    backbone = prefixed(BACKBONE_RULES, 'mobilevit.', 'backbone.')
    if task == 'classifier':
        return backbone + [KeyRule('classifier.{t}', 'head.fc.{t}')]
    if task == 'segmentor':
        return backbone + SEG_HEAD_RULES
    raise ValueError(f'HF has no MobileViT {task} models')


def detect_task(keys) -> str:
    """Task of an HF-layout checkpoint from its head keys."""
    keys = list(keys)
    if any(k.startswith('segmentation_head.') for k in keys):
        return 'segmentor'
    if any(k.startswith('classifier.') for k in keys):
        return 'classifier'
    return 'backbone'  # MobileViTModel, or a classifier without classes


_QKV = re.compile(r'(.*)\.attention\.attention\.(query|key|value)\.'
                  r'(weight|bias)$')


def merge_qkv(
        state_dict: Dict[str,
                         torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """Replace HF's ``query`` / ``key`` / ``value`` by one ``qkv`` entry."""
    merged, parts = OrderedDict(), {}
    for key, value in state_dict.items():
        found = _QKV.match(key)
        if found is None:
            merged[key] = value
            continue
        prefix, which, leaf = found.groups()
        new_key = f'{prefix}.attention.attention.qkv.{leaf}'
        parts.setdefault(new_key, {})[which] = value
        merged[new_key] = None  # keep the position
    for new_key, qkv in parts.items():
        missing = [p for p in ('query', 'key', 'value') if p not in qkv]
        if missing:
            raise ValueError(f'{new_key}: the HF checkpoint lacks the '
                             f'{missing} part(s) of this attention layer')
        merged[new_key] = torch.cat([qkv['query'], qkv['key'], qkv['value']],
                                    dim=0)
    return merged


def hf_to_mmvit(
        state_dict: Dict[str, torch.Tensor],
        arch: Optional[str] = None) -> 'OrderedDict[str, torch.Tensor]':
    """HF ``MobileViTForImageClassification`` /
    ``MobileViTForSemanticSegmentation`` / ``MobileViTModel`` state dict ->
    mmvit. HF's weights take BGR input (its image processor flips RGB to
    BGR), like mmvit's configs."""
    state_dict = strip_module(state_dict)
    _, arch = check_format_and_arch(
        state_dict, 'hf', arch, backbone='MobileViT')
    task = detect_task(state_dict)
    return apply_rules(
        merge_qkv(state_dict), rules(task),
        dict(depths=transformer_depths(arch)), f'hf {task}')
