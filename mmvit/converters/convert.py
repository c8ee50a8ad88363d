"""Convert public MobileViT checkpoints to mmvit's layout: one entry point
over the per-format modules.

Sources (``fmt`` names):

* ``cvnets``: apple/ml-cvnets v0.1 releases: ImageNet classifiers
  ``mobilevit_{s,xs,xxs}.pt``, DeepLabv3 ``deeplabv3_mobilevit_*.pt``,
  SSDLite ``ssd_mobilevit_*_320.pt`` (:mod:`.cvnets`);
* ``timm``: ``mobilevit_{s,xs,xxs}`` state dicts of timm (:mod:`.timm`);
* ``hf``: HF transformers ``MobileViTForImageClassification``,
  ``MobileViTForSemanticSegmentation`` (or a bare ``MobileViTModel``)
  (:mod:`.hf`);
* ``mmpretrain``: ``mobilevit-{small,xsmall,xxsmall}_3rdparty_in1k_*.pth``
  (:mod:`.mmpretrain`);
* MobileViTv2: ml-cvnets HEAD's classification / SSDLite / DeepLabv3
  releases (:mod:`.cvnets_v2`) and timm's ``mobilevitv2_*``
  (:mod:`.timm_v2`).

Which converter reads a checkpoint is its backbone family's record
(:data:`mmvit.models.backbones.families.FAMILIES`, ``converters``).

The result is laid out like an OpenMMLab checkpoint of mmvit's configs:
``backbone.*`` + ``head.fc.*`` (mmpretrain ``ImageClassifier``),
``backbone.*`` + ``decode_head.*`` (mmseg ``EncoderDecoder`` with
``mmvit.DeepLabV3Head``), ``backbone.*`` + ``neck.*`` + ``bbox_head.*``
(mmdet ``SingleStageDetector`` with ``mmvit.SSDLiteNeck`` /
``mmvit.SSDLiteHead``), or bare backbone keys for a bare backbone.

Every source key must map somewhere: an unknown key stops the conversion with
a message that lists it; nothing is dropped silently.
"""
import importlib
from collections import OrderedDict
from typing import Callable, Dict, Optional, Tuple

import torch

from mmvit.models.backbones.families import family_of_arch
from .detect import (FormatMismatchError, detect_format_and_arch,
                     detect_task, strip_module)


def converter(arch: str, fmt: str) -> Callable:
    """The function that converts a ``fmt`` checkpoint of ``arch``'s family
    to mmvit (the ``'module:function'`` its record names)."""
    record = family_of_arch(arch)
    if fmt not in record.converters:
        raise ValueError(f'no {fmt} {record.name} checkpoints are known; '
                         f'{record.name} converts from '
                         f'{sorted(record.converters)}')
    module, name = record.converters[fmt].split(':')
    return getattr(importlib.import_module(module), name)


def convert_state_dict(state_dict: Dict[str, torch.Tensor],
                       fmt: Optional[str] = None,
                       arch: Optional[str] = None,
                       **kwargs) -> Tuple['OrderedDict', dict]:
    """Convert a state dict of any supported family and format to mmvit.

    Args:
        state_dict (dict): Source state dict.
        fmt (str, optional): ``'cvnets'``, ``'timm'``, ``'hf'`` or
            ``'mmpretrain'``; raise (:class:`FormatMismatchError`) if the keys
            say otherwise. Defaults to None (detected).
        arch (str, optional): Expected variant; raise if the checkpoint is
            another. Defaults to None (detected).
        **kwargs: Options of the format's converter (``rgb_to_bgr`` for timm,
            ``num_anchors`` for cvnets SSDLite).

    Returns:
        tuple: ``(state_dict, info)`` with ``info = dict(format, arch,
        task)``, ``task`` one of :data:`mmvit.apis.TASKS`.
    """
    state_dict = strip_module(state_dict)
    found_fmt, found_arch = detect_format_and_arch(state_dict)
    if found_fmt == 'mmvit':
        raise ValueError('this checkpoint is already in the mmvit layout')
    if fmt is not None and fmt != found_fmt:
        raise FormatMismatchError(fmt, found_fmt)
    converted = converter(found_arch, found_fmt)(
        state_dict, arch=arch, **kwargs)
    info = dict(format=found_fmt, arch=found_arch, task=detect_task(converted))
    return converted, info
