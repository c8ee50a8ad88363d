"""mmvit's side of the key rules, shared by the source layouts: the names of
a transformer layer, where a stage's transformer layers and final norm land
(``layer{s}.1.global_rep.{i}``), stage numbers counted from 0, the DeepLabv3
head, the rules of a whole model of a task, and the conversion every
rule-based layout runs (:func:`convert_with_rules`)."""
from collections import OrderedDict
from typing import (Callable, Dict, List, NamedTuple, Optional, Sequence,
                    Tuple)

import torch

from mmvit.apis import TASKS
from .detect import check_format_and_arch, strip_module, transformer_depths
from .key_rules import FieldMaps, KeyRule, apply_rules, prefixed

__all__ = [
    'LayerNames', 'MOBILEVIT_LAYER', 'MOBILEVITV2_LAYER', 'STAGE_FROM_0',
    'aspp_rules', 'convert_with_rules', 'global_rep_rules', 'task_rules'
]


class LayerNames(NamedTuple):
    """The parts of one transformer layer as a key layout names them."""
    norm1: str
    qkv: str
    proj: str
    norm2: str
    fc1: str
    fc2: str


MOBILEVIT_LAYER = LayerNames(
    norm1='ln1', qkv='attn.qkv', proj='attn.proj', norm2='ln2',
    fc1='ffn.0', fc2='ffn.3')
MOBILEVITV2_LAYER = LayerNames(
    norm1='norm1', qkv='attn.qkv_proj', proj='attn.out_proj', norm2='norm2',
    fc1='ffn.0', fc2='ffn.3')

#: Sources that count stages from 0 (timm's ``stages.2``, HF's
#: ``encoder.layer.2``: mmvit's ``layer3``).
STAGE_FROM_0: FieldMaps = {'s': (lambda s: s + 1, lambda s: s - 1)}


def _final_norm_index(fields: Dict[str, int], context: dict) -> int:
    return context['depths'][fields['s']]


def global_rep_rules(layer: str,
                     names: LayerNames,
                     mmvit: LayerNames,
                     norm: Optional[str] = None,
                     maps: Optional[FieldMaps] = None) -> List[KeyRule]:
    """The transformer layers of stage ``{s}``'s MobileViT(v2) block and
    the norm after the last one (mmvit: entries ``{i}`` and ``depth`` of
    ``layer{s}.1.global_rep``).

    Args:
        layer (str): Source template of transformer layer ``{i}`` of stage
            ``{s}``.
        names (LayerNames): The source's names inside a layer.
        mmvit (LayerNames): mmvit's names inside a layer of the family.
        norm (str, optional): Source template of the final norm; its mmvit
            index comes from the rule context (``depths``). Defaults to
            None: the source keeps it after the layers, at index ``{i}`` of
            ``layer``, as mmvit does.
        maps (dict, optional): Fields numbered differently, see
            :class:`KeyRule`. Defaults to None.
    """
    rules = [
        KeyRule(f'{layer}.{src}.{{t}}',
                f'layer{{s}}.1.global_rep.{{i}}.{dst}.{{t}}', maps=maps)
        for src, dst in zip(names, mmvit)
    ]
    if norm is None:
        return rules + [
            KeyRule(f'{layer}.{{t}}', 'layer{s}.1.global_rep.{i}.{t}', maps)
        ]
    return rules + [
        KeyRule(f'{norm}.{{t}}', 'layer{s}.1.global_rep.{depth}.{t}', maps,
                derived={'depth': _final_norm_index})
    ]


def task_rules(task: str, backbone: List[KeyRule],
               heads: Dict[str, Tuple[str, List[KeyRule]]], source: str,
               family: str) -> List[KeyRule]:
    """Rules of a whole ``source`` (format) checkpoint of a ``family``
    backbone for ``task``: the bare ``backbone`` rules, or, for a task in
    ``heads`` (task -> (the source's prefix of the backbone keys, the head
    rules)), the backbone under ``backbone.`` and the head."""
    if task == 'backbone':
        return backbone
    if task not in TASKS:
        raise ValueError(f'unknown task {task!r}; valid tasks are {TASKS}')
    if task not in heads:
        raise ValueError(f'{source} has no {family} {task} models; valid '
                         f"tasks are {('backbone', ) + tuple(heads)}")
    prefix, head = heads[task]
    return prefixed(backbone, prefix, 'backbone.') + head


def aspp_rules(conv_norm: Callable[[str, str], List[KeyRule]],
               branches: str, pool_conv: str, project: str,
               classifier: str) -> List[KeyRule]:
    """mmvit's ``DeepLabV3Head``: the ASPP branches (source ``branches``
    ``.{i}``, the pooling branch's conv under ``pool_conv``), the projection
    and the classifier conv, with the source's ``conv_norm(src, mmvit)``
    rules of a conv + norm."""
    return [
        *conv_norm(f'{branches}.{{i}}', 'decode_head.aspp_convs.{i}'),
        *conv_norm(f'{branches}.{{i}}.{pool_conv}',
                   'decode_head.aspp_convs.{i}.conv'),
        *conv_norm(project, 'decode_head.project'),
        KeyRule(f'{classifier}.{{t}}', 'decode_head.conv_seg.{t}'),
    ]


def convert_with_rules(state_dict: Dict[str, torch.Tensor], fmt: str,
                       family: str, arch: Optional[str],
                       detect_task: Callable[[Sequence[str]], str],
                       rules_of: Callable[[str], List[KeyRule]],
                       what: str) -> Tuple['OrderedDict', str]:
    """What every rule-based converter does: drop a ``module.`` prefix,
    check the format, the backbone ``family`` and the expected ``arch``,
    read the task off the head keys (``detect_task``) and rename every key
    by ``rules_of(task)``, with the arch's transformer depths as context
    (``what``: the checkpoint in messages, ``'timm MobileViTv2'``).
    Returns ``(mmvit state dict, task)``."""
    state_dict = strip_module(state_dict)
    _, arch = check_format_and_arch(state_dict, fmt, arch, backbone=family)
    task = detect_task(state_dict)
    out = apply_rules(state_dict, rules_of(task),
                      dict(depths=transformer_depths(arch)),
                      f'{what} {task}')
    return out, task
