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
from typing import List, Tuple

import torch

from .key_rules import KeyRule, prefixed


def _conv_norm(cvnets: str, mmvit: str, **kwargs) -> List[KeyRule]:
    """cvnets ``ConvLayer`` (``.block.conv`` / ``.block.norm``) <-> mmcv
    ``ConvModule`` (``.conv`` / ``.bn``)."""
    return [
        KeyRule(f'{cvnets}.block.conv.{{t}}', f'{mmvit}.conv.{{t}}', **kwargs),
        KeyRule(f'{cvnets}.block.norm.{{t}}', f'{mmvit}.bn.{{t}}', **kwargs),
    ]


_TRANSFORMER = [
    ('pre_norm_mha.0', 'ln1'),
    ('pre_norm_mha.1.qkv_proj', 'attn.qkv'),  # rows q | k | v in both
    ('pre_norm_mha.1.out_proj', 'attn.proj'),
    ('pre_norm_ffn.0', 'ln2'),
    ('pre_norm_ffn.1', 'ffn.0'),
    ('pre_norm_ffn.4', 'ffn.3'),
]

BACKBONE_RULES: List[KeyRule] = [
    *_conv_norm('conv_1', 'stem'),
    # MV2 blocks: every block of stages 1-2, block 0 of stages 3-5
    *_conv_norm('layer_{s}.{b}.block.exp_1x1', 'layer{s}.{b}.conv.0'),
    *_conv_norm('layer_{s}.{b}.block.conv_3x3', 'layer{s}.{b}.conv.1'),
    *_conv_norm('layer_{s}.{b}.block.red_1x1', 'layer{s}.{b}.conv.2'),
    # MobileViT blocks (block 1 of stages 3-5)
    *_conv_norm('layer_{s}.1.local_rep.conv_3x3', 'layer{s}.1.local_rep.0'),
    KeyRule('layer_{s}.1.local_rep.conv_1x1.block.conv.weight',
            'layer{s}.1.local_rep.1.conv.weight'),
    *[
        KeyRule(f'layer_{{s}}.1.global_rep.{{i}}.{cv}.{{t}}',
                f'layer{{s}}.1.global_rep.{{i}}.{mm}.{{t}}')
        for cv, mm in _TRANSFORMER
    ],
    # the LayerNorm after the last transformer layer
    KeyRule('layer_{s}.1.global_rep.{i}.{t}', 'layer{s}.1.global_rep.{i}.{t}'),
    *_conv_norm('layer_{s}.1.conv_proj', 'layer{s}.1.conv_proj'),
    *_conv_norm('layer_{s}.1.fusion', 'layer{s}.1.conv_fusion'),
    *_conv_norm('conv_1x1_exp', 'conv_1x1_exp'),
]

CLS_HEAD_RULES = [KeyRule('classifier.fc.{t}', 'head.fc.{t}')]

_ASPP = 'seg_head.aspp.aspp_layer'
SEG_HEAD_RULES: List[KeyRule] = [
    *_conv_norm(f'{_ASPP}.convs.{{i}}', 'decode_head.aspp_convs.{i}'),
    *_conv_norm(f'{_ASPP}.convs.{{i}}.aspp_pool.conv_1x1',
                'decode_head.aspp_convs.{i}.conv'),
    *_conv_norm(f'{_ASPP}.project', 'decode_head.project'),
    # v0.1's released checkpoints nest the last conv in a Sequential
    # (classifier_dropout, classifier, up_16): `seg_head.classifier.
    # classifier.block.conv`; a bare `seg_head.classifier` conv is read too
    # (and is what the inverse writes)
    KeyRule('seg_head.classifier[.classifier].block.conv.{t}',
            'decode_head.conv_seg.{t}'),
]

# extra level `os_64` is neck level 0, `os_128` level 1, ...
_OUTPUT_STRIDE = {
    'os': (lambda os: int(math.log2(os)) - 6, lambda j: 2**(j + 6))
}
# The combined box + class predictor goes to a placeholder key first;
# `split_box_cls` makes the class and box convs of it.
SEPARABLE_PREDICTOR = 'bbox_head.loc_cls_separable'
PLAIN_PREDICTOR = 'bbox_head.loc_cls_plain'
DET_HEAD_RULES: List[KeyRule] = [
    *_conv_norm(
        'extra_layers.os_{os}.dw_conv',
        'neck.extra_layers.{os}.depthwise_conv',
        maps=_OUTPUT_STRIDE),
    *_conv_norm(
        'extra_layers.os_{os}.pw_conv',
        'neck.extra_layers.{os}.pointwise_conv',
        maps=_OUTPUT_STRIDE),
    KeyRule('extra_layers.os_-1.1.block.conv.weight',
            'neck.global_layer.1.conv.weight'),
    *_conv_norm('ssd_heads.{i}.proj_layer', 'bbox_head.proj_convs.{i}'),
    *_conv_norm('ssd_heads.{i}.loc_cls_layer.dw_conv',
                'bbox_head.dw_convs.{i}'),
    KeyRule('ssd_heads.{i}.loc_cls_layer.pw_conv.block.conv.{t}',
            SEPARABLE_PREDICTOR + '.{i}.{t}'),
    KeyRule('ssd_heads.{i}.loc_cls_layer.block.conv.{t}',
            PLAIN_PREDICTOR + '.{i}.{t}'),
]


def rules(task: str) -> List[KeyRule]:
    """Key rules of a whole cvnets checkpoint of ``task``
    (``'backbone'``, ``'classification'``, ``'segmentation'``,
    ``'detection'``)."""
    if task == 'backbone':
        return BACKBONE_RULES
    if task == 'classification':
        return prefixed(BACKBONE_RULES, '', 'backbone.') + CLS_HEAD_RULES
    if task == 'segmentation':
        return prefixed(BACKBONE_RULES, 'encoder.',
                        'backbone.') + SEG_HEAD_RULES
    if task == 'detection':
        return prefixed(BACKBONE_RULES, 'encoder.',
                        'backbone.') + DET_HEAD_RULES
    raise ValueError(f'unknown task {task!r}')


def detect_task(keys) -> str:
    keys = list(keys)
    if any(k.startswith('ssd_heads.') for k in keys):
        return 'detection'
    if any(k.startswith('seg_head.') for k in keys):
        return 'segmentation'
    if any(k.startswith('classifier.') for k in keys):
        return 'classification'
    return 'backbone'


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
