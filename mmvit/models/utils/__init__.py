# re-export for one release (issue 15): checkpoint conversion now lives in
# mmvit.converters; import from there.
from mmvit.converters import (CONVERTERS, FORMATS, KeyRule,
                              convert_state_dict, cvnets_to_mmvit,
                              detect_format_and_arch, detect_task,
                              hf_to_mmvit, merge_box_cls, mmpretrain_to_mmvit,
                              mmvit_to_cvnets, rename_keys, split_box_cls,
                              timm_to_mmvit)

__all__ = [
    'CONVERTERS', 'FORMATS', 'convert_state_dict', 'cvnets_to_mmvit',
    'detect_format_and_arch', 'detect_task', 'hf_to_mmvit',
    'mmpretrain_to_mmvit', 'mmvit_to_cvnets', 'timm_to_mmvit', 'merge_box_cls',
    'split_box_cls', 'KeyRule', 'rename_keys'
]
