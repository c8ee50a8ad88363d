from .ckpt_convert import (CONVERTERS, FORMATS, convert_state_dict,
                           cvnets_to_mmvit, detect_format_and_arch,
                           detect_task, hf_to_mmvit, mmpretrain_to_mmvit,
                           mmvit_to_cvnets, timm_to_mmvit)
from .cvnets_keys import merge_box_cls, split_box_cls
from .key_rules import KeyRule, rename_keys

__all__ = [
    'CONVERTERS', 'FORMATS', 'convert_state_dict', 'cvnets_to_mmvit',
    'detect_format_and_arch', 'detect_task', 'hf_to_mmvit',
    'mmpretrain_to_mmvit', 'mmvit_to_cvnets', 'timm_to_mmvit', 'merge_box_cls',
    'split_box_cls', 'KeyRule', 'rename_keys'
]
