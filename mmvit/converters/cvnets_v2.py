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
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import torch

from mmvit.models.backbones.families import FAMILIES
from .cvnets import (DET_HEAD_RULES, GLOBAL_REP, SEG_HEAD_RULES, conv_norm,
                     detect_task, from_cvnets, stem_and_mv2_rules, to_cvnets)
from .detect import detect_format_and_arch
from .detect import detect_task as detect_mmvit_layout_task
from .detect import family
from .key_rules import KeyRule
from .mmvit_keys import (MOBILEVITV2_LAYER, LayerNames, global_rep_rules,
                         task_rules)
from .timm import flip_stem_rgb_to_bgr

__all__ = [
    'MARKER', 'arch_of', 'detect_task', 'rules',
    'cvnets_v2_to_mmvit', 'mmvit_v2_to_cvnets'
]

#: The key that tells an ml-cvnets MobileViTv2 checkpoint (v1's transformer
#: layers have ``pre_norm_mha``, v2's ``pre_norm_attn``) and, by its width,
#: the width multiplier.
MARKER = FAMILIES['MobileViTv2'].markers['cvnets'].pattern

# cvnets `LinearAttnFFN`: pre_norm_attn = (norm, attention, dropout),
# pre_norm_ffn = (norm, conv + act, dropout, conv, dropout)
_LAYER = LayerNames(
    norm1='pre_norm_attn.0', qkv='pre_norm_attn.1.qkv_proj.block.conv',
    proj='pre_norm_attn.1.out_proj.block.conv', norm2='pre_norm_ffn.0',
    fc1='pre_norm_ffn.1.block.conv', fc2='pre_norm_ffn.3.block.conv')

BACKBONE_RULES: List[KeyRule] = [
    *stem_and_mv2_rules(),
    # MobileViTv2 blocks (block 1 of stages 3-5)
    *conv_norm('layer_{s}.1.local_rep.0', 'layer{s}.1.local_rep.0'),
    KeyRule('layer_{s}.1.local_rep.1.block.conv.weight',
            'layer{s}.1.local_rep.1.conv.weight'),
    *global_rep_rules(GLOBAL_REP, _LAYER, MOBILEVITV2_LAYER),
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


HEADS = {
    'classifier': ('', CLS_HEAD_RULES),
    'segmentor': ('encoder.', SEG_HEAD_RULES + AUX_HEAD_RULES),
    'detector': ('encoder.', DET_HEAD_RULES),
}


def rules(task: str) -> List[KeyRule]:
    """Key rules of a whole cvnets MobileViTv2 checkpoint of ``task``
    (``'backbone'``, ``'classifier'``, ``'detector'``, ``'segmentor'``). They
    need no context (``rename_keys(keys, rules(task), {})``); a detector's
    box + class predictors go to placeholder keys that
    :func:`cvnets_v2_to_mmvit` splits."""
    return task_rules(task, BACKBONE_RULES, HEADS, 'cvnets', 'MobileViTv2')


def arch_of(state_dict: Dict[str, torch.Tensor]) -> str:
    """Width (a key of ``MobileViTv2.arch_settings``) of a cvnets or mmvit
    MobileViTv2 state dict, from the width of its stage-5 transformer."""
    fmt, arch = detect_format_and_arch(state_dict)
    if fmt not in ('cvnets', 'mmvit') or family(arch) != 'MobileViTv2':
        raise ValueError(
            f'not a cvnets / mmvit MobileViTv2 checkpoint but {fmt} '
            f'{family(arch)} {arch!r} (no key like {MARKER.pattern})')
    return arch


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
    out, task = from_cvnets(state_dict, 'MobileViTv2', rules, arch,
                            num_anchors, 'cvnets MobileViTv2')
    if rgb_to_bgr:
        flip_stem_rgb_to_bgr(out, task)
    return out


def mmvit_v2_to_cvnets(
        state_dict: Dict[str, torch.Tensor],
        bgr_to_rgb: bool = True) -> 'OrderedDict[str, torch.Tensor]':
    """mmvit ``MobileViTv2`` classifier / segmentor / detector (or bare
    backbone) state dict -> ml-cvnets key layout; the inverse of
    :func:`cvnets_v2_to_mmvit` (``bgr_to_rgb`` undoes its ``rgb_to_bgr``).
    """
    arch = arch_of(state_dict)  # a MobileViTv2 state dict, else a clear error
    task = detect_mmvit_layout_task(state_dict)
    source = OrderedDict(state_dict)
    if bgr_to_rgb:
        flip_stem_rgb_to_bgr(source, task)
    return to_cvnets(source, arch, task, rules)
