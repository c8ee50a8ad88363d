"""Checkpoint conversion: detect a checkpoint's format, backbone family,
variant and task (:mod:`.detect`, reading the families' records), rename its
keys by two-way rules (:mod:`.key_rules`, mmvit's side in
:mod:`.mmvit_keys`), one module per source layout (MobileViT:
:mod:`.cvnets`, :mod:`.timm`, :mod:`.hf`, :mod:`.mmpretrain`; MobileViTv2:
:mod:`.cvnets_v2`, :mod:`.timm_v2`), one entry point
(:func:`convert_state_dict`) and the file reader (:mod:`.checkpoint_io`)."""
from .checkpoint_io import load_state_dict
from .convert import convert_state_dict, converter
from .cvnets import (cvnets_to_mmvit, default_num_anchors, merge_box_cls,
                     mmvit_to_cvnets, split_box_cls)
from .cvnets_v2 import cvnets_v2_to_mmvit, mmvit_v2_to_cvnets
from .detect import (FORMAT_NAMES, FORMATS, FormatMismatchError,
                     check_format_and_arch, detect_format_and_arch,
                     detect_task, family)
from .hf import hf_to_mmvit
from .key_rules import KeyRule, apply_rules, rename_keys
from .mmpretrain import mmpretrain_to_mmvit
from .timm import timm_to_mmvit
from .timm_v2 import timm_v2_to_mmvit

__all__ = [
    'FORMATS', 'FORMAT_NAMES', 'FormatMismatchError', 'KeyRule',
    'apply_rules', 'check_format_and_arch', 'convert_state_dict', 'converter',
    'cvnets_to_mmvit', 'cvnets_v2_to_mmvit', 'default_num_anchors',
    'detect_format_and_arch', 'detect_task', 'family', 'hf_to_mmvit',
    'load_state_dict', 'merge_box_cls', 'mmpretrain_to_mmvit',
    'mmvit_to_cvnets', 'mmvit_v2_to_cvnets', 'rename_keys', 'split_box_cls',
    'timm_to_mmvit', 'timm_v2_to_mmvit'
]
