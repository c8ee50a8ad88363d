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

from .detect import task_of_keys
from .key_rules import KeyRule, prefixed
from .mmvit_keys import (MOBILEVIT_LAYER, STAGE_FROM_0, LayerNames,
                         aspp_rules, convert_with_rules, global_rep_rules,
                         task_rules)


def _conv_norm(hf: str, mmvit: str) -> List[KeyRule]:
    """HF ``MobileViTConvLayer`` (``.convolution`` / ``.normalization``) <->
    mmcv ``ConvModule`` (``.conv`` / ``.bn``)."""
    return [
        KeyRule(f'{hf}.convolution.{{t}}', f'{mmvit}.conv.{{t}}',
                maps=STAGE_FROM_0),
        KeyRule(f'{hf}.normalization.{{t}}', f'{mmvit}.bn.{{t}}',
                maps=STAGE_FROM_0),
    ]


def _mv2(hf: str, mmvit: str) -> List[KeyRule]:
    return [
        *_conv_norm(f'{hf}.expand_1x1', f'{mmvit}.conv.0'),
        *_conv_norm(f'{hf}.conv_3x3', f'{mmvit}.conv.1'),
        *_conv_norm(f'{hf}.reduce_1x1', f'{mmvit}.conv.2'),
    ]


# HF's `MobileViTTransformerLayer`; `qkv` is made by merge_qkv
_TRANSFORMER = LayerNames(
    norm1='layernorm_before', qkv='attention.attention.qkv',
    proj='attention.output.dense', norm2='layernorm_after',
    fc1='intermediate.dense', fc2='output.dense')
_LAYER = 'encoder.layer.{s}'

BACKBONE_RULES: List[KeyRule] = [
    *_conv_norm('conv_stem', 'stem'),
    *_mv2(f'{_LAYER}.layer.{{b}}', 'layer{s}.{b}'),
    *_mv2(f'{_LAYER}.downsampling_layer', 'layer{s}.0'),
    *_conv_norm(f'{_LAYER}.conv_kxk', 'layer{s}.1.local_rep.0'),
    KeyRule(
        f'{_LAYER}.conv_1x1.convolution.weight',
        'layer{s}.1.local_rep.1.conv.weight',
        maps=STAGE_FROM_0),
    *global_rep_rules(
        f'{_LAYER}.transformer.layer.{{i}}',
        _TRANSFORMER,
        MOBILEVIT_LAYER,
        norm=f'{_LAYER}.layernorm',
        maps=STAGE_FROM_0),
    *_conv_norm(f'{_LAYER}.conv_projection', 'layer{s}.1.conv_proj'),
    *_conv_norm(f'{_LAYER}.fusion', 'layer{s}.1.conv_fusion'),
    *_conv_norm('conv_1x1_exp', 'conv_1x1_exp'),
]

SEG_HEAD_RULES = aspp_rules(_conv_norm, 'segmentation_head.aspp.convs',
                            'conv_1x1', 'segmentation_head.aspp.project',
                            'segmentation_head.classifier.convolution')

HEADS = {
    'classifier': ('mobilevit.', [KeyRule('classifier.{t}', 'head.fc.{t}')]),
    'segmentor': ('mobilevit.', SEG_HEAD_RULES),
}


def rules(task: str, prefix: str = 'mobilevit.') -> List[KeyRule]:
    """Rules of ``task``; a bare backbone's keys may carry ``prefix``
    (HF's ``MobileViTModel`` has none, the task models' backbone has it)."""
    if task == 'backbone':
        return BACKBONE_RULES + prefixed(BACKBONE_RULES, prefix, '')
    return task_rules(task, BACKBONE_RULES, HEADS, 'HF', 'MobileViT')


def detect_task(keys) -> str:
    """Task of an HF-layout checkpoint from its head keys (``'backbone'``:
    a ``MobileViTModel``, or a classifier without classes)."""
    return task_of_keys(keys, {
        'segmentor': 'segmentation_head.',
        'classifier': 'classifier.'
    })


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
    return convert_with_rules(merge_qkv(state_dict), 'hf', 'MobileViT', arch,
                              detect_task, rules, 'hf')[0]
