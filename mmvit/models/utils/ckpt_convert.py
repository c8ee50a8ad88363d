"""Convert public MobileViT checkpoints to mmvit's layout.

Sources (format names as in ``tools/model_converters/mobilevit2mmvit.py``):

* ``cvnets``: apple/ml-cvnets v0.1 releases: ImageNet classifiers
  ``mobilevit_{s,xs,xxs}.pt``, DeepLabv3 ``deeplabv3_mobilevit_*.pt``,
  SSDLite ``ssd_mobilevit_*_320.pt``;
* ``timm``: ``mobilevit_{s,xs,xxs}`` state dicts of timm;
* ``hf``: HF transformers ``MobileViTForImageClassification``,
  ``MobileViTForSemanticSegmentation`` (or a bare ``MobileViTModel``);
* ``mmpretrain``: ``mobilevit-{small,xsmall,xxsmall}_3rdparty_in1k_*.pth``.

The result is laid out like an OpenMMLab checkpoint of mmvit's configs:
``backbone.*`` + ``head.fc.*`` (mmpretrain ``ImageClassifier``),
``backbone.*`` + ``decode_head.*`` (mmseg ``EncoderDecoder`` with
``mmvit.DeepLabV3Head``), ``backbone.*`` + ``neck.*`` + ``bbox_head.*``
(mmdet ``SingleStageDetector`` with ``mmvit.SSDLiteNeck`` /
``mmvit.SSDLiteHead``), or bare backbone keys for a bare backbone.

Every source key must map somewhere: an unknown key stops the conversion with
a message that lists it; nothing is dropped silently.
"""
import re
from collections import OrderedDict
from typing import Dict, Optional, Sequence, Tuple

import torch

from . import cvnets_keys, hf_keys, timm_keys
from .key_rules import rename_keys

# token width of the first transformer layer of stage 5 -> arch
_ARCH_BY_LAYER5_DIM = {240: 'small', 144: 'x_small', 96: 'xx_small'}
# transformer layers of the MobileViT stages 3-5 (all three archs)
_DEPTHS = {3: 2, 4: 4, 5: 3}
# cvnets' SSDLite anchors per location, levels of strides 16 ... global
CVNETS_SSD_ANCHORS = (6, 6, 6, 6, 6, 4)

# format -> a key that holds the layer-5 token width, and looser hints
_MARKERS = {
    'mmpretrain':
    re.compile(r'(^|\.)layers\.4\.1\.global_rep\.0\.ln1\.weight$'),
    'cvnets':
    re.compile(r'^(encoder\.)?layer_5\.1\.global_rep\.0\.pre_norm_mha\.0'
               r'\.weight$'),
    'timm':
    re.compile(r'^stages\.4\.1\.transformer\.0\.norm1\.weight$'),
    'hf':
    re.compile(r'^(mobilevit\.)?encoder\.layer\.4\.transformer\.layer\.0\.'
               r'layernorm_before\.weight$'),
    'mmvit':
    re.compile(r'^(backbone\.)?layer5\.1\.global_rep\.0\.ln1\.weight$'),
}
_HINTS = {
    'cvnets': re.compile(r'^(encoder\.)?conv_1\.block\.conv\.weight$'),
    'timm': re.compile(r'^stem\.conv\.weight$'),
    'hf': re.compile(r'^(mobilevit\.)?conv_stem\.convolution\.weight$'),
    'mmpretrain': re.compile(r'(^|\.)layers\.0\.0\.conv\.0\.conv\.weight$'),
}
FORMATS = ('cvnets', 'timm', 'hf', 'mmpretrain')
_FORMAT_NAMES = {
    'cvnets': 'an ml-cvnets',
    'timm': 'a timm',
    'hf': 'an HF transformers',
    'mmpretrain': 'an mmpretrain',
    'mmvit': 'an mmvit',
}


def _rename_mmpretrain_backbone_key(key: str) -> str:
    # mmpretrain keeps stages in `layers` (0-based); mmvit names them
    # `layer1..layer5` and keeps the FFN as a flat Sequential
    key = re.sub(r'^layers\.(\d)\.', lambda m: f'layer{int(m.group(1)) + 1}.',
                 key)
    key = key.replace('.ffn.layers.0.0.', '.ffn.0.')
    return key.replace('.ffn.layers.1.', '.ffn.3.')


def mmpretrain_to_mmvit(
        state_dict: Dict[str,
                         torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """Rename an mmpretrain ``MobileViT`` (classifier or backbone) state dict
    to mmvit's keys; tensors are shared, not copied. Keys outside the
    backbone (``head.fc.*``) are kept as they are."""
    converted = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith('backbone.'):
            key = 'backbone.' + _rename_mmpretrain_backbone_key(
                key[len('backbone.'):])
        elif not key.startswith(('head.', 'neck.', 'data_preprocessor.')):
            key = _rename_mmpretrain_backbone_key(key)
        converted[key] = value
    return converted


def _arch_of(key: str, value: torch.Tensor) -> str:
    dim = value.shape[0]
    if dim not in _ARCH_BY_LAYER5_DIM:
        raise ValueError(f'{key} has width {dim}; known MobileViT widths are '
                         f'{_ARCH_BY_LAYER5_DIM}')
    return _ARCH_BY_LAYER5_DIM[dim]


def detect_format_and_arch(
        state_dict: Dict[str, torch.Tensor]) -> Tuple[str, str]:
    """Return ``(format, arch)`` of a MobileViT state dict (``format`` one of
    ``'cvnets'``, ``'timm'``, ``'hf'``, ``'mmpretrain'``, ``'mmvit'``; ``arch``
    one of ``'small'``, ``'x_small'``, ``'xx_small'``), from its keys and the
    width of its stage-5 transformer, or raise a ``ValueError`` that says
    what was found."""
    for fmt, marker in _MARKERS.items():
        for key, value in state_dict.items():
            if marker.search(key):
                return fmt, _arch_of(key, value)
    for fmt, hint in _HINTS.items():
        if any(hint.search(k) for k in state_dict):
            raise ValueError(
                f'this looks like {_FORMAT_NAMES[fmt]} checkpoint, but it '
                'lacks the stage-5 transformer that tells the MobileViT '
                f'variant (no key like {_MARKERS[fmt].pattern})')
    sample = ', '.join(list(state_dict)[:5])
    raise ValueError('not a MobileViT checkpoint in a known format; its first '
                     f'keys are: {sample}')


def _check_arch(state_dict, fmt: str, arch: Optional[str]) -> str:
    found_fmt, found_arch = detect_format_and_arch(state_dict)
    if found_fmt != fmt:
        raise ValueError(f'expected {_FORMAT_NAMES[fmt]} checkpoint, but the '
                         f'keys are in the {found_fmt} layout')
    if arch is not None and arch != found_arch:
        raise ValueError(f'expected MobileViT {arch!r}, but the checkpoint is '
                         f'MobileViT {found_arch!r}')
    return found_arch


def _apply_rules(state_dict, rules, fmt: str, task: str) -> 'OrderedDict':
    context = dict(depths=_DEPTHS)
    renamed, unmatched = rename_keys(state_dict, rules, context)
    if unmatched:
        raise ValueError(
            f'{len(unmatched)} key(s) of this {fmt} {task} checkpoint have no '
            f'place in mmvit: {unmatched[:10]}')
    sources = {}  # mmvit key -> the source keys that map to it
    for key, target in renamed.items():
        sources.setdefault(target, []).append(key)
    clashes = {t: keys for t, keys in sources.items() if len(keys) > 1}
    if clashes:
        listed = '; '.join(f'{" and ".join(keys)} -> {target}'
                           for target, keys in list(clashes.items())[:10])
        raise ValueError(
            f'{len(clashes)} mmvit key(s) would get more than one tensor of '
            f'this {fmt} {task} checkpoint ({listed}); it holds two layouts '
            'of the same weights: keep one of them')
    return OrderedDict((renamed[k], v) for k, v in state_dict.items())


def _strip_module(state_dict):
    """Drop the ``module.`` prefix of DataParallel/DDP checkpoints."""
    if state_dict and all(k.startswith('module.') for k in state_dict):
        return OrderedDict(
            (k[len('module.'):], v) for k, v in state_dict.items())
    return state_dict


def cvnets_to_mmvit(
    state_dict: Dict[str, torch.Tensor],
    arch: Optional[str] = None,
    num_anchors: Sequence[int] = CVNETS_SSD_ANCHORS
) -> 'OrderedDict[str, torch.Tensor]':
    """ml-cvnets classification / DeepLabv3 / SSDLite checkpoint -> mmvit.

    Args:
        state_dict (dict): The cvnets state dict.
        arch (str, optional): Expected variant; raise if the checkpoint is
            another. Defaults to None (any).
        num_anchors (Sequence[int]): SSDLite anchors per location of each
            level, to split the combined box + class predictors. Defaults to
            cvnets' ``(6, 6, 6, 6, 6, 4)``.
    """
    state_dict = _strip_module(state_dict)
    _check_arch(state_dict, 'cvnets', arch)
    task = cvnets_keys.detect_task(state_dict)
    out = _apply_rules(state_dict, cvnets_keys.rules(task), 'cvnets', task)
    if task == 'detection':
        out = _split_predictors(out, num_anchors)
    return out


def _split_predictors(state_dict, num_anchors: Sequence[int]) -> 'OrderedDict':
    placeholders = (cvnets_keys.SEPARABLE_PREDICTOR + '.',
                    cvnets_keys.PLAIN_PREDICTOR + '.')
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
            cls, reg = cvnets_keys.split_box_cls(value,
                                                 num_anchors[int(level)])
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


def mmvit_to_cvnets(
        state_dict: Dict[str,
                         torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """mmvit classifier / segmentor / detector (or bare backbone) state dict
    -> ml-cvnets key layout; the inverse of :func:`cvnets_to_mmvit`."""
    keys = list(state_dict)
    if any(k.startswith('bbox_head.') for k in keys):
        task = 'detection'
    elif any(k.startswith('decode_head.') for k in keys):
        task = 'segmentation'
    elif any(k.startswith('head.') for k in keys):
        task = 'classification'
    else:
        task = 'backbone'
    source = OrderedDict(state_dict)
    if task == 'detection':  # cls_convs + reg_convs -> one predictor
        source = OrderedDict()
        for key, value in state_dict.items():
            found = re.match(r'bbox_head\.(cls|reg)_convs\.(\d+)\.(\w+)$', key)
            if found is None:
                source[key] = value
                continue
            kind, level, leaf = found.groups()
            if kind == 'reg':
                continue
            reg = state_dict[f'bbox_head.reg_convs.{level}.{leaf}']
            separable = f'bbox_head.dw_convs.{level}.conv.weight' in \
                state_dict
            name = (
                cvnets_keys.SEPARABLE_PREDICTOR
                if separable else cvnets_keys.PLAIN_PREDICTOR)
            source[f'{name}.{level}.{leaf}'] = cvnets_keys.merge_box_cls(
                value, reg)
    renamed, unmatched = rename_keys(
        source, cvnets_keys.rules(task), dict(depths=_DEPTHS), forward=False)
    if unmatched:
        raise ValueError(f'{len(unmatched)} mmvit key(s) have no cvnets '
                         f'counterpart: {unmatched[:10]}')
    return OrderedDict((renamed[k], v) for k, v in source.items())


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
            MobileViT weights on RGB images (78.3 top-1 for S, the cvnets
            number), so its stem expects RGB. Defaults to True.
    """
    state_dict = _strip_module(state_dict)
    _check_arch(state_dict, 'timm', arch)
    task = timm_keys.detect_task(state_dict)
    out = _apply_rules(state_dict, timm_keys.rules(task), 'timm', task)
    if rgb_to_bgr:
        stem = 'backbone.stem.conv.weight' if task != 'backbone' \
            else 'stem.conv.weight'
        out[stem] = out[stem].flip(1).contiguous()
    return out


def hf_to_mmvit(
        state_dict: Dict[str, torch.Tensor],
        arch: Optional[str] = None) -> 'OrderedDict[str, torch.Tensor]':
    """HF ``MobileViTForImageClassification`` /
    ``MobileViTForSemanticSegmentation`` / ``MobileViTModel`` state dict ->
    mmvit. HF's weights take BGR input (its image processor flips RGB to
    BGR), like mmvit's configs."""
    state_dict = _strip_module(state_dict)
    _check_arch(state_dict, 'hf', arch)
    task = hf_keys.detect_task(state_dict)
    return _apply_rules(
        hf_keys.merge_qkv(state_dict), hf_keys.rules(task), 'hf', task)


CONVERTERS = {
    'cvnets': cvnets_to_mmvit,
    'timm': timm_to_mmvit,
    'hf': hf_to_mmvit,
    'mmpretrain': mmpretrain_to_mmvit,
}


def detect_task(state_dict: Dict[str, torch.Tensor]) -> str:
    """Task of an mmvit-layout state dict: ``'classification'``,
    ``'segmentation'``, ``'detection'`` or ``'backbone'`` (bare keys)."""
    if any(k.startswith('bbox_head.') for k in state_dict):
        return 'detection'
    if any(k.startswith('decode_head.') for k in state_dict):
        return 'segmentation'
    if any(k.startswith('head.') for k in state_dict):
        return 'classification'
    return 'backbone'


def convert_state_dict(state_dict: Dict[str, torch.Tensor],
                       fmt: Optional[str] = None,
                       arch: Optional[str] = None,
                       **kwargs) -> Tuple['OrderedDict', dict]:
    """Convert a MobileViT state dict of any supported format to mmvit.

    Args:
        state_dict (dict): Source state dict.
        fmt (str, optional): ``'cvnets'``, ``'timm'``, ``'hf'`` or
            ``'mmpretrain'``; raise if the keys say otherwise. Defaults to
            None (detected).
        arch (str, optional): Expected variant; raise if the checkpoint is
            another. Defaults to None (detected).
        **kwargs: Options of the format's converter (``rgb_to_bgr`` for timm,
            ``num_anchors`` for cvnets SSDLite).

    Returns:
        tuple: ``(state_dict, info)`` with ``info = dict(format, arch,
        task)``.
    """
    state_dict = _strip_module(state_dict)
    found_fmt, found_arch = detect_format_and_arch(state_dict)
    if found_fmt == 'mmvit':
        raise ValueError('this checkpoint is already in the mmvit layout')
    if fmt is not None and fmt != found_fmt:
        raise ValueError(
            f'expected {_FORMAT_NAMES.get(fmt, fmt)} checkpoint (--format '
            f'{fmt}), but its keys are in the {found_fmt} layout')
    if arch is not None and arch != found_arch:
        raise ValueError(f'expected MobileViT {arch!r}, but the checkpoint is '
                         f'MobileViT {found_arch!r}')
    converted = CONVERTERS[found_fmt](state_dict, **kwargs)
    info = dict(format=found_fmt, arch=found_arch, task=detect_task(converted))
    return converted, info
