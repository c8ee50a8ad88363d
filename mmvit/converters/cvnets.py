"""ml-cvnets (apple/ml-cvnets v0.1) key layout <-> mmvit.

Covers the released classification (``mobilevit_{s,xs,xxs}.pt``), DeepLabv3
(``deeplabv3_mobilevit_*.pt``) and SSDLite (``ssd_mobilevit_*_320.pt``)
checkpoints. cvnets' ``ConvLayer`` keeps its conv and norm under ``.block``;
mmcv's ``ConvModule`` names them ``.conv`` / ``.bn``.

SSDLite: cvnets predicts boxes and classes with one pointwise conv per level,
``num_anchors * (4 + num_classes + 1)`` channels laid out per anchor as
``[dx, dy, dw, dh, background, class 1, ...]``; mmdet's ``SSDHead`` has a
class conv (``num_anchors * (num_classes + 1)``, background *last*) and a box
conv (``num_anchors * 4``). :func:`split_box_cls` / :func:`merge_box_cls`
convert between the two.
"""
import math
import re
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

from .detect import check_format_and_arch
from .detect import detect_task as detect_mmvit_task
from .detect import family, task_of_keys, transformer_depths
from .key_rules import KeyRule, rename_keys
from .mmvit_keys import (MOBILEVIT_LAYER, LayerNames, aspp_rules,
                         convert_with_rules, global_rep_rules, task_rules)


def conv_norm(cvnets: str, mmvit: str, **kwargs) -> List[KeyRule]:
    """cvnets ``ConvLayer`` (``.block.conv`` / ``.block.norm``) <-> mmcv
    ``ConvModule`` (``.conv`` / ``.bn``)."""
    return [
        KeyRule(f'{cvnets}.block.conv.{{t}}', f'{mmvit}.conv.{{t}}', **kwargs),
        KeyRule(f'{cvnets}.block.norm.{{t}}', f'{mmvit}.bn.{{t}}', **kwargs),
    ]


# cvnets `TransformerEncoder`: pre_norm_mha = (norm, attention, dropout),
# pre_norm_ffn = (norm, linear, act, dropout, linear, dropout); qkv rows
# q | k | v in both
_LAYER = LayerNames(
    norm1='pre_norm_mha.0', qkv='pre_norm_mha.1.qkv_proj',
    proj='pre_norm_mha.1.out_proj', norm2='pre_norm_ffn.0',
    fc1='pre_norm_ffn.1', fc2='pre_norm_ffn.4')
# every transformer layer of a MobileViT(v2) block, then its final norm
GLOBAL_REP = 'layer_{s}.1.global_rep.{i}'


def stem_and_mv2_rules() -> List[KeyRule]:
    """The stem and the MV2 blocks (every block of stages 1-2, block 0 of
    stages 3-5): the same keys in ml-cvnets' v1 and v2 models."""
    return [
        *conv_norm('conv_1', 'stem'),
        *conv_norm('layer_{s}.{b}.block.exp_1x1', 'layer{s}.{b}.conv.0'),
        *conv_norm('layer_{s}.{b}.block.conv_3x3', 'layer{s}.{b}.conv.1'),
        *conv_norm('layer_{s}.{b}.block.red_1x1', 'layer{s}.{b}.conv.2'),
    ]


BACKBONE_RULES: List[KeyRule] = [
    *stem_and_mv2_rules(),
    # MobileViT blocks (block 1 of stages 3-5)
    *conv_norm('layer_{s}.1.local_rep.conv_3x3', 'layer{s}.1.local_rep.0'),
    KeyRule('layer_{s}.1.local_rep.conv_1x1.block.conv.weight',
            'layer{s}.1.local_rep.1.conv.weight'),
    *global_rep_rules(GLOBAL_REP, _LAYER, MOBILEVIT_LAYER),
    *conv_norm('layer_{s}.1.conv_proj', 'layer{s}.1.conv_proj'),
    *conv_norm('layer_{s}.1.fusion', 'layer{s}.1.conv_fusion'),
    *conv_norm('conv_1x1_exp', 'conv_1x1_exp'),
]

CLS_HEAD_RULES = [KeyRule('classifier.fc.{t}', 'head.fc.{t}')]

# v0.1's released checkpoints nest the last conv in a Sequential
# (classifier_dropout, classifier, up_16): `seg_head.classifier.classifier.
# block.conv`; a bare `seg_head.classifier` conv is read too (and is what the
# inverse writes)
SEG_HEAD_RULES = aspp_rules(
    conv_norm, 'seg_head.aspp.aspp_layer.convs', 'aspp_pool.conv_1x1',
    'seg_head.aspp.aspp_layer.project',
    'seg_head.classifier[.classifier].block.conv')

# extra level `os_64` is neck level 0, `os_128` level 1, ...
_OUTPUT_STRIDE = {
    'os': (lambda os: int(math.log2(os)) - 6, lambda j: 2**(j + 6))
}
# The combined box + class predictor goes to a placeholder key first;
# `split_box_cls` makes the class and box convs of it.
SEPARABLE_PREDICTOR = 'bbox_head.loc_cls_separable'
PLAIN_PREDICTOR = 'bbox_head.loc_cls_plain'
DET_HEAD_RULES: List[KeyRule] = [
    *conv_norm(
        'extra_layers.os_{os}.dw_conv',
        'neck.extra_layers.{os}.depthwise_conv',
        maps=_OUTPUT_STRIDE),
    *conv_norm(
        'extra_layers.os_{os}.pw_conv',
        'neck.extra_layers.{os}.pointwise_conv',
        maps=_OUTPUT_STRIDE),
    KeyRule('extra_layers.os_-1.1.block.conv.weight',
            'neck.global_layer.1.conv.weight'),
    *conv_norm('ssd_heads.{i}.proj_layer', 'bbox_head.proj_convs.{i}'),
    *conv_norm('ssd_heads.{i}.loc_cls_layer.dw_conv',
               'bbox_head.dw_convs.{i}'),
    KeyRule('ssd_heads.{i}.loc_cls_layer.pw_conv.block.conv.{t}',
            SEPARABLE_PREDICTOR + '.{i}.{t}'),
    KeyRule('ssd_heads.{i}.loc_cls_layer.block.conv.{t}',
            PLAIN_PREDICTOR + '.{i}.{t}'),
]


# task -> (the backbone keys' prefix, the head's rules)
HEADS = {
    'classifier': ('', CLS_HEAD_RULES),
    'segmentor': ('encoder.', SEG_HEAD_RULES),
    'detector': ('encoder.', DET_HEAD_RULES),
}
# task -> the key prefix of its head in a cvnets checkpoint (v1 and v2)
HEAD_KEYS = {
    'detector': 'ssd_heads.',
    'segmentor': 'seg_head.',
    'classifier': 'classifier.'
}


def rules(task: str) -> List[KeyRule]:
    """Key rules of a whole cvnets checkpoint of ``task`` (one of
    :data:`mmvit.apis.TASKS`)."""
    return task_rules(task, BACKBONE_RULES, HEADS, 'cvnets', 'MobileViT')


def detect_task(keys) -> str:
    """Task of a cvnets-layout checkpoint from its head keys."""
    return task_of_keys(keys, HEAD_KEYS)


def split_box_cls(tensor: torch.Tensor,
                  num_anchors: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Split cvnets' combined predictor weight or bias
    ``[A * (4 + C + 1), ...]`` (per anchor: 4 box deltas, then background,
    then the C classes) into mmdet's ``(cls [A * (C + 1), ...] with background
    last, reg [A * 4, ...])``."""
    total, rest = tensor.shape[0], tensor.shape[1:]
    if total % num_anchors or total // num_anchors <= 5:
        raise ValueError(
            f'a combined box + class predictor with {total} outputs cannot '
            f'hold {num_anchors} anchors x (4 box deltas + background + '
            'classes)')
    per_anchor = tensor.reshape(num_anchors, total // num_anchors, *rest)
    reg = per_anchor[:, :4]
    cls = per_anchor[:, 4:]
    cls = torch.cat([cls[:, 1:], cls[:, :1]], dim=1)  # background last
    return (cls.reshape(-1, *rest).clone(), reg.reshape(-1, *rest).clone())


def merge_box_cls(cls: torch.Tensor, reg: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`split_box_cls`."""
    if reg.shape[0] % 4:
        raise ValueError(f'a box predictor needs 4 outputs per anchor, got '
                         f'{reg.shape[0]}')
    num_anchors = reg.shape[0] // 4
    rest = reg.shape[1:]
    if cls.shape[0] % num_anchors or cls.shape[1:] != rest:
        raise ValueError(f'class predictor {tuple(cls.shape)} does not fit '
                         f'box predictor {tuple(reg.shape)}')
    cls = cls.reshape(num_anchors, -1, *rest)
    cls = torch.cat([cls[:, -1:], cls[:, :-1]], dim=1)  # background first
    reg = reg.reshape(num_anchors, 4, *rest)
    return torch.cat([reg, cls], dim=1).reshape(-1, *rest).clone()


def default_num_anchors() -> Tuple[int, ...]:
    """Anchors per location of each SSDLite level as the authors' SSD config
    sets them: those of mmvit's anchor generator with its defaults (the
    cvnets aspect ratios)."""
    from mmvit.models.task_modules import SSDLiteAnchorGenerator
    return tuple(SSDLiteAnchorGenerator().num_base_priors)


def from_cvnets(state_dict: Dict[str, torch.Tensor], family_name: str,
                rules_of: Callable[[str], List[KeyRule]], arch: Optional[str],
                num_anchors: Optional[Sequence[int]],
                what: str) -> Tuple['OrderedDict', str]:
    """``(mmvit state dict, task)`` of a cvnets checkpoint of the backbone
    family ``family_name``, by the rules ``rules_of(task)``; a detector's
    box + class predictors split with ``num_anchors`` (None: cvnets').
    ``what``: the checkpoint in messages."""
    out, task = convert_with_rules(state_dict, 'cvnets', family_name, arch,
                                   detect_task, rules_of, what)
    if task == 'detector':
        out = split_predictors(
            out, default_num_anchors() if num_anchors is None else num_anchors)
    return out, task


def to_cvnets(state_dict: Dict[str, torch.Tensor], arch: str, task: str,
              rules_of: Callable[[str], List[KeyRule]]) -> 'OrderedDict':
    """The inverse of :func:`from_cvnets` for an mmvit state dict of
    ``arch`` and ``task``."""
    source = OrderedDict(state_dict)
    if task == 'detector':
        source = merge_predictors(source)
    renamed, unmatched = rename_keys(
        source,
        rules_of(task),
        dict(depths=transformer_depths(arch)),
        forward=False)
    if unmatched:
        raise ValueError(f'{len(unmatched)} mmvit key(s) have no cvnets '
                         f'{family(arch)} counterpart: {unmatched[:10]}')
    return OrderedDict((renamed[k], v) for k, v in source.items())


def cvnets_to_mmvit(
    state_dict: Dict[str, torch.Tensor],
    arch: Optional[str] = None,
    num_anchors: Optional[Sequence[int]] = None
) -> 'OrderedDict[str, torch.Tensor]':
    """ml-cvnets classification / DeepLabv3 / SSDLite checkpoint -> mmvit.

    Args:
        state_dict (dict): The cvnets state dict.
        arch (str, optional): Expected variant; raise if the checkpoint is
            another. Defaults to None (any).
        num_anchors (Sequence[int], optional): SSDLite anchors per location
            of each level, to split the combined box + class predictors.
            Defaults to None: cvnets' (:func:`default_num_anchors`).
    """
    return from_cvnets(state_dict, 'MobileViT', rules, arch, num_anchors,
                       'cvnets')[0]


def split_predictors(state_dict, num_anchors: Sequence[int]) -> 'OrderedDict':
    placeholders = (SEPARABLE_PREDICTOR + '.', PLAIN_PREDICTOR + '.')
    levels = sorted({
        int(k.split('.')[2])
        for k in state_dict if k.startswith(placeholders)
    })
    if levels != list(range(len(num_anchors))):
        raise ValueError(f'the SSD checkpoint has predictors for levels '
                         f'{levels}, expected {len(num_anchors)} levels '
                         f'(num_anchors={tuple(num_anchors)})')
    out, num_classes = OrderedDict(), set()
    for key, value in state_dict.items():
        if not key.startswith(placeholders):
            out[key] = value
            continue
        _, _, level, leaf = key.split('.')
        try:
            cls, reg = split_box_cls(value, num_anchors[int(level)])
        except ValueError as err:
            raise ValueError(
                f'SSD level {level}: {err}; give the anchors per location '
                f'of each level (num_anchors, now {tuple(num_anchors)})'
            ) from None
        num_classes.add(cls.shape[0] // num_anchors[int(level)])
        out[f'bbox_head.cls_convs.{level}.{leaf}'] = cls
        out[f'bbox_head.reg_convs.{level}.{leaf}'] = reg
    if len(num_classes) != 1:
        raise ValueError(
            f'the SSD predictors disagree on the number of classes with '
            f'num_anchors={tuple(num_anchors)} (got {sorted(num_classes)} '
            'classes + background); pass the anchors per level of the model')
    return out


def merge_predictors(state_dict) -> 'OrderedDict':
    """mmdet's ``cls_convs`` + ``reg_convs`` -> cvnets' one predictor."""
    merged = OrderedDict()
    for key, value in state_dict.items():
        found = re.match(r'bbox_head\.(cls|reg)_convs\.(\d+)\.(\w+)$', key)
        if found is None:
            merged[key] = value
            continue
        kind, level, leaf = found.groups()
        if kind == 'reg':
            continue
        reg = state_dict[f'bbox_head.reg_convs.{level}.{leaf}']
        separable = f'bbox_head.dw_convs.{level}.conv.weight' in state_dict
        name = SEPARABLE_PREDICTOR if separable else PLAIN_PREDICTOR
        merged[f'{name}.{level}.{leaf}'] = merge_box_cls(value, reg)
    return merged


def mmvit_to_cvnets(
        state_dict: Dict[str,
                         torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """mmvit classifier / segmentor / detector (or bare backbone) state dict
    -> ml-cvnets key layout; the inverse of :func:`cvnets_to_mmvit`."""
    _, arch = check_format_and_arch(state_dict, 'mmvit')
    if family(arch) != 'MobileViT':
        raise ValueError(f'a {family(arch)} {arch!r} state dict: convert it '
                         'with mmvit.converters.mmvit_v2_to_cvnets')
    return to_cvnets(state_dict, arch, detect_mmvit_task(state_dict), rules)
