"""ml-cvnets (apple/ml-cvnets HEAD) MobileViTv2 key layout <-> mmvit.

Covers the authors' v2 releases: ImageNet classifiers
(``mobilevitv2-{0.5,...,2.0}.pt``, keys ``conv_1``, ``layer_1..5``,
``classifier.1``), DeepLabv3 (``encoder.*`` + ``seg_head.*``, with the
auxiliary head ``seg_head.aux_head``) and SSDLite (``encoder.*`` +
``extra_layers.*`` + ``ssd_heads.*``). cvnets' ``ConvLayer2d`` keeps its conv
and norm under ``.block``; mmcv's ``ConvModule`` names them ``.conv`` /
``.bn``. The detection and segmentation heads are v1's (the rules of
:mod:`.cvnets`), the SSD box + class predictors are split and merged as for
v1.

ml-cvnets HEAD reads images with PIL: the v2 weights expect RGB. The
converters reverse the stem's input channels (``rgb_to_bgr=True``), so that a
converted model takes the BGR images of mmvit's configs, as the v1 weights
do; :func:`mmvit_v2_to_cvnets` reverses them back.
"""
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import torch

from .cvnets import (DET_HEAD_RULES, SEG_HEAD_RULES, conv_norm,
                     default_num_anchors, detect_task, merge_predictors,
                     split_predictors, stem_and_mv2_rules, transformer_rules)
from .detect import V2_MARKERS, check_format_and_arch, detect_format_and_arch
from .detect import detect_task as detect_mmvit_layout_task
from .detect import family, strip_module
from .key_rules import KeyRule, apply_rules, prefixed, rename_keys
from .timm import flip_stem_rgb_to_bgr

__all__ = [
    'MARKER', 'MMVIT_MARKER', 'TASKS', 'arch_of', 'detect_task', 'rules', 'cvnets_v2_to_mmvit', 'mmvit_v2_to_cvnets'
]

#: The key that tells an ml-cvnets MobileViTv2 checkpoint (v1's transformer
#: layers have ``pre_norm_mha``, v2's ``pre_norm_attn``) and, by its width,
#: the width multiplier; and the same key of an mmvit ``MobileViTv2``.
MARKER = V2_MARKERS['cvnets'][0]
MMVIT_MARKER = V2_MARKERS['mmvit'][0]
TASKS = ('backbone', 'classifier', 'detector', 'segmentor')


# cvnets `LinearAttnFFN`: pre_norm_attn = (norm, attention, dropout),
# pre_norm_ffn = (norm, conv + act, dropout, conv, dropout)
_TRANSFORMER = [
    ('pre_norm_attn.0', 'norm1'),
    ('pre_norm_attn.1.qkv_proj.block.conv', 'attn.qkv_proj'),
    ('pre_norm_attn.1.out_proj.block.conv', 'attn.out_proj'),
    ('pre_norm_ffn.0', 'norm2'),
    ('pre_norm_ffn.1.block.conv', 'ffn.0'),
    ('pre_norm_ffn.3.block.conv', 'ffn.3'),
]

BACKBONE_RULES: List[KeyRule] = [
    *stem_and_mv2_rules(),
    # MobileViTv2 blocks (block 1 of stages 3-5)
    *conv_norm('layer_{s}.1.local_rep.0', 'layer{s}.1.local_rep.0'),
    KeyRule('layer_{s}.1.local_rep.1.block.conv.weight',
            'layer{s}.1.local_rep.1.conv.weight'),
    *transformer_rules(_TRANSFORMER),
    *conv_norm('layer_{s}.1.conv_proj', 'layer{s}.1.conv_proj'),
]

# v2's classifier is Sequential(GlobalPool, Linear)
CLS_HEAD_RULES = [KeyRule('classifier.1.{t}', 'head.fc.{t}')]

# the auxiliary head on layer 4 (3x3 conv + norm + act, dropout, 1x1 conv)
# is mmseg's FCNHead with one conv
AUX_HEAD_RULES: List[KeyRule] = [
    *conv_norm('seg_head.aux_head.0', 'auxiliary_head.convs.0'),
    KeyRule('seg_head.aux_head.2.block.conv.{t}',
            'auxiliary_head.conv_seg.{t}'),
]


def rules(task: str) -> List[KeyRule]:
    """Key rules of a whole cvnets MobileViTv2 checkpoint of ``task``
    (``'backbone'``, ``'classifier'``, ``'detector'``, ``'segmentor'``). They
    need no context (``rename_keys(keys, rules(task), {})``); a detector's
    box + class predictors go to placeholder keys that
    :func:`cvnets_v2_to_mmvit` splits."""
    if task == 'backbone':
        return BACKBONE_RULES
    if task == 'classifier':
        return prefixed(BACKBONE_RULES, '', 'backbone.') + CLS_HEAD_RULES
    if task == 'segmentor':
        return prefixed(BACKBONE_RULES, 'encoder.',
                        'backbone.') + SEG_HEAD_RULES + AUX_HEAD_RULES
    if task == 'detector':
        return prefixed(BACKBONE_RULES, 'encoder.',
                        'backbone.') + DET_HEAD_RULES
    raise ValueError(f'unknown task {task!r}; valid tasks are {TASKS}')


def arch_of(state_dict: Dict[str, torch.Tensor]) -> str:
    """Width (a key of ``MobileViTv2.arch_settings``) of a cvnets or mmvit
    MobileViTv2 state dict, from the width of its stage-5 transformer."""
    fmt, arch = detect_format_and_arch(state_dict)
    if fmt not in ('cvnets', 'mmvit') or family(arch) != 'MobileViTv2':
        raise ValueError(
            f'not a cvnets / mmvit MobileViTv2 checkpoint but {fmt} '
            f'{family(arch)} {arch!r} (no key like {MARKER.pattern})')
    return arch


def _stem_key(task: str) -> str:
    return 'stem.conv.weight' if task == 'backbone' else \
        'backbone.stem.conv.weight'


def cvnets_v2_to_mmvit(
        state_dict: Dict[str, torch.Tensor],
        arch: Optional[str] = None,
        num_anchors: Optional[Sequence[int]] = None,
        rgb_to_bgr: bool = True) -> 'OrderedDict[str, torch.Tensor]':
    """ml-cvnets MobileViTv2 classification / DeepLabv3 / SSDLite checkpoint
    -> mmvit (``MobileViTv2`` in mmpretrain's ``ImageClassifier``, mmseg's
    ``EncoderDecoder`` with ``mmvit.DeepLabV3Head`` + ``FCNHead`` auxiliary
    head, or mmdet's ``SingleStageDetector`` with ``mmvit.SSDLiteNeck`` /
    ``mmvit.SSDLiteHead``).

    Args:
        state_dict (dict): The cvnets state dict.
        arch (str, optional): Expected width (``'0.5'`` ... ``'2.0'``); raise
            if the checkpoint is another. Defaults to None (any).
        num_anchors (Sequence[int], optional): SSDLite anchors per location
            of each level, to split the combined box + class predictors.
            Defaults to None: cvnets' (six levels: 6, 6, 6, 6, 6, 4).
        rgb_to_bgr (bool): Reverse the input channels of the stem conv (the
            released weights expect RGB, mmvit's configs feed BGR). Defaults
            to True.
    """
    state_dict = strip_module(state_dict)
    check_format_and_arch(
        state_dict, 'cvnets', arch, backbone='MobileViTv2')
    task = detect_task(state_dict)
    out = apply_rules(state_dict, rules(task), {},
                      f'cvnets MobileViTv2 {task}')
    if task == 'detector':
        out = split_predictors(
            out,
            default_num_anchors() if num_anchors is None else num_anchors)
    if rgb_to_bgr:
        flip_stem_rgb_to_bgr(out, _stem_key(task))
    return out


def mmvit_v2_to_cvnets(
        state_dict: Dict[str, torch.Tensor],
        bgr_to_rgb: bool = True) -> 'OrderedDict[str, torch.Tensor]':
    """mmvit ``MobileViTv2`` classifier / segmentor / detector (or bare
    backbone) state dict -> ml-cvnets key layout; the inverse of
    :func:`cvnets_v2_to_mmvit` (``bgr_to_rgb`` undoes its ``rgb_to_bgr``).
    """
    arch_of(state_dict)  # a MobileViTv2 state dict, else a clear error
    task = detect_mmvit_layout_task(state_dict)
    source = OrderedDict(state_dict)
    if bgr_to_rgb:
        flip_stem_rgb_to_bgr(source, _stem_key(task))
    if task == 'detector':
        source = merge_predictors(source)
    renamed, unmatched = rename_keys(source, rules(task), {}, forward=False)
    if unmatched:
        raise ValueError(f'{len(unmatched)} mmvit key(s) have no cvnets '
                         f'MobileViTv2 counterpart: {unmatched[:10]}')
    return OrderedDict((renamed[k], v) for k, v in source.items())
