"""One record per backbone family: what the converters, the config preflight,
the benchmark, the model index and the checkpoint tool know about a family.

A family is a backbone class with its arch table plus the facts around it:
its variants' names in configs, timm and ml-cvnets, its transformer depths,
how a checkpoint tells its variant (the key that marks the family in each
checkpoint format, and the width that key's tensor has), the converter of
each format, its configs and its paper. Every tool derives its tables from
:data:`FAMILIES` (converters, preflight, benchmark, model index, checkpoint
tool); a new family adds its backbone module, its converter modules, its
configs and one :func:`register_family` call here, nothing else.

This module imports the backbones only: the converters are named by dotted
paths that :mod:`mmvit.converters` resolves (models never import
converters).
"""
import dataclasses
import re
from typing import Callable, Dict, List, NamedTuple, Optional, Pattern, Tuple

from .mobilevit import MobileViT, short_name
from .mobilevitv2 import MobileViTv2
from .mobilevitv2 import timm_name as v2_timm_name

__all__ = [
    'FAMILIES', 'BackboneFamily', 'Marker', 'Paper', 'arch_keys',
    'family_of_arch',
    'family_of_class', 'register_family', 'stage5_markers', 'task_configs',
    'unregister_family'
]


class Marker(NamedTuple):
    """The key that marks a family in one checkpoint format (a tensor of the
    last transformer stage) and the axis of that tensor whose size is the
    stage's token width (:attr:`BackboneFamily.arch_of_width`)."""
    pattern: Pattern
    axis: int = 0


class Paper(NamedTuple):
    """The paper of a family, as the model index cites it: ``venue`` is
    ``(bibtex field, name)``, e.g. ``('journal', 'TMLR')``."""
    title: str
    url: str
    key: str
    kind: str
    venue: Tuple[str, str]
    year: int
    authors: str = 'Sachin Mehta and Mohammad Rastegari'

    @property
    def bibtex(self) -> str:
        field, name = self.venue
        return (f'@{self.kind}{{{self.key},\n  title={{{self.title}}},\n'
                f'  author={{{self.authors}}},\n  {field}={{{name}}},\n'
                f'  year={{{self.year}}}\n}}')


@dataclasses.dataclass(frozen=True)
class BackboneFamily:
    """An mmvit backbone family.

    Args:
        cls (type): The backbone class, registered in mmvit's ``MODELS``
            (a :class:`~mmvit.models.backbones.base.MobileViTStages`): its
            ``arch_settings`` give the family's archs, their transformer
            depths and token widths, its ``arch_out_channels`` a config's
            output channels.
        markers (dict): Checkpoint format -> :class:`Marker`, the key whose
            width tells the arch (:meth:`arch_of_width`). Markers of
            different families never match the same key.
        converters (dict): Checkpoint format -> ``'module:function'`` of its
            converter to mmvit's layout, ``function(state_dict, arch=None,
            **options)``.
        display_name (callable): An arch's name in tables,
            ``'MobileViT-XXS'``.
        config_name (callable): An arch's name in config files
            (``ssdlite_mobilevit-xxs_...``: ``'xxs'``).
        configs (dict): Task (:data:`mmvit.apis.TASKS`) -> function of an
            arch giving mmvit's config of that task and arch under
            ``configs/`` (the file may not exist for every arch), see
            :func:`task_configs`.
        paper (Paper): The family's paper.
        timm_name (callable, optional): timm's model name of an arch. None
            where timm has no such model. Defaults to None.
        cvnets_name (callable, optional): The file of ml-cvnets' ImageNet
            checkpoint of an arch. Defaults to None.
        mmpretrain_type (str, optional): mmpretrain's backbone type built
            with the same arch keys. Defaults to None.
    """
    cls: type
    markers: Dict[str, Marker]
    # Dotted paths, not functions: models must not import converters, and
    # a registry the converter modules fill would need them all imported
    # first; a path keeps each family's formats in its one record.
    converters: Dict[str, str]
    display_name: Callable[[str], str]
    config_name: Callable[[str], str]
    configs: Dict[str, Callable[[str], str]]
    paper: Paper
    timm_name: Optional[Callable[[str], str]] = None
    cvnets_name: Optional[Callable[[str], str]] = None
    mmpretrain_type: Optional[str] = None

    @property
    def name(self) -> str:
        """``'MobileViT'``: the class name, as configs (``'mmvit.'`` +
        name) and messages call the family."""
        return self.cls.__name__

    @property
    def archs(self) -> Tuple[str, ...]:
        return tuple(self.cls.arch_settings)

    @property
    def config_prefix(self) -> str:
        """The family in config folder and file names (``'mobilevit'``,
        ``ssdlite_mobilevit/``)."""
        return self.name.lower()

    @property
    def feature_out_indices(self) -> Tuple[int, ...]:
        """``out_indices`` of the map before global pooling (timm's
        ``forward_features``): the last output (MobileViT: its 1x1
        expansion layer)."""
        return (self.cls.num_outputs - 1, )

    def _attention_stages(self, arch: str) -> List[Tuple[int, object]]:
        """``[(stage (1-based), its setting)]`` of the attention stages."""
        stages = self.cls.arch_settings[arch]['stages']
        return [(i + 1, s) for i, s in enumerate(stages)
                if s.block == s.attn_block]

    def depths(self, arch: str) -> Dict[int, int]:
        """``{stage (1-based): transformer layers}`` of ``arch``, the
        context of the converters' key rules."""
        return {
            i: stage.num_transformer_blocks
            for i, stage in self._attention_stages(arch)
        }

    def arch_of_width(self, width: int) -> str:
        """The arch whose last attention stage has token width ``width``
        (``embed_dims``); a ``ValueError`` for a width no arch has."""
        archs = {
            self._attention_stages(arch)[-1][1].embed_dims: arch
            for arch in self.archs
        }
        if width not in archs:
            raise ValueError(
                f'no released {self.name} width has a last-stage token '
                f'width of {width}; known {self.name} widths are {archs}')
        return archs[width]


#: Family name -> record, in registration order.
FAMILIES: Dict[str, BackboneFamily] = {}


def register_family(family: BackboneFamily) -> BackboneFamily:
    """Add ``family`` to :data:`FAMILIES`; its name and arch keys must be
    new (an arch key names one variant of one family)."""
    if family.name in FAMILIES:
        raise ValueError(f'backbone family {family.name} is registered')
    clashes = {
        arch: family_of_arch(arch).name
        for arch in family.archs if arch in arch_keys()
    }
    if clashes:
        raise ValueError(f'the archs of {family.name} are taken: {clashes}')
    FAMILIES[family.name] = family
    return family


def unregister_family(name: str) -> BackboneFamily:
    """Remove and return the family ``name``."""
    return FAMILIES.pop(name)


def arch_keys() -> Tuple[str, ...]:
    """The arch keys of every registered family, in registration order."""
    return tuple(arch for family in FAMILIES.values() for arch in family.archs)


def family_of_arch(arch: str) -> BackboneFamily:
    """The family whose arch key ``arch`` is."""
    for family in FAMILIES.values():
        if arch in family.cls.arch_settings:
            return family
    archs = {name: list(f.archs) for name, f in FAMILIES.items()}
    raise KeyError(f'unknown arch {arch!r}; the archs are {archs}')


def family_of_class(cls) -> Optional[BackboneFamily]:
    """The family of a backbone class (or of a subclass of its class);
    None for anything else."""
    if not isinstance(cls, type):
        return None
    for family in FAMILIES.values():
        if issubclass(cls, family.cls):
            return family
    return None


# ------------------------------------------------------ building a record
def task_configs(
    prefix: str,
    name: Callable[[str], str],
    seg_data: str,
    classifier_name: Optional[Callable[[str], str]] = None
) -> Dict[str, Callable[[str], str]]:
    """The ``configs`` of a family whose config files follow mmvit's
    grammar: ``{prefix}/{prefix}-{name}_8xb128_in1k.py`` (the ImageNet
    classifier; ``classifier_name`` where its name differs),
    ``ssdlite_{prefix}/..._4xb32-200e_coco.py`` and
    ``deeplabv3_{prefix}/...-d16_4xb32-50e_{seg_data}-512x512.py``."""
    cls_name = classifier_name or name
    return dict(
        classifier=lambda arch: f'{prefix}/{prefix}-{cls_name(arch)}_'
        '8xb128_in1k.py',
        detector=lambda arch: f'ssdlite_{prefix}/ssdlite_{prefix}-'
        f'{name(arch)}_4xb32-200e_coco.py',
        segmentor=lambda arch: f'deeplabv3_{prefix}/deeplabv3_{prefix}-'
        f'{name(arch)}-d16_4xb32-50e_{seg_data}-512x512.py')


# the first transformer layer of stage 5 in each checkpoint format
_STAGE5_LAYER = {
    'mmpretrain': r'(^|\.)layers\.4\.1\.global_rep\.0\.',
    'cvnets': r'^(encoder\.)?layer_5\.1\.global_rep\.0\.',
    'timm': r'^stages\.4\.1\.transformer\.0\.',
    'hf': r'^(mobilevit\.)?encoder\.layer\.4\.transformer\.layer\.0\.',
    'mmvit': r'^(backbone\.)?layer5\.1\.global_rep\.0\.',
}


def stage5_markers(**tensors) -> Dict[str, Marker]:
    """The ``markers`` of a five-stage family: format -> the name of a
    tensor of the first transformer layer of stage 5, whose size on axis 0
    is the token width, or ``(name, axis)``."""
    markers = {}
    for fmt, tensor in tensors.items():
        name, axis = tensor if isinstance(tensor, tuple) else (tensor, 0)
        pattern = _STAGE5_LAYER[fmt] + re.escape(name) + '$'
        markers[fmt] = Marker(re.compile(pattern), axis)
    return markers


# ---------------------------------------------------------------- MobileViT
_CONVERTERS = 'mmvit.converters.'
register_family(
    BackboneFamily(
        cls=MobileViT,
        # the layer's first norm (timm: its qkv, [3d, d], since
        # MobileViTv2's layers have a `norm1` too)
        markers=stage5_markers(
            mmpretrain='ln1.weight',
            cvnets='pre_norm_mha.0.weight',
            timm=('attn.qkv.weight', 1),
            hf='layernorm_before.weight',
            mmvit='ln1.weight'),
        converters=dict(
            cvnets=_CONVERTERS + 'cvnets:cvnets_to_mmvit',
            timm=_CONVERTERS + 'timm:timm_to_mmvit',
            hf=_CONVERTERS + 'hf:hf_to_mmvit',
            mmpretrain=_CONVERTERS + 'mmpretrain:mmpretrain_to_mmvit',
        ),
        display_name=lambda arch: f'MobileViT-{short_name(arch).upper()}',
        config_name=short_name,
        # the classifiers are named as mmpretrain's ('xsmall')
        configs=task_configs(
            'mobilevit',
            short_name,
            'voc12aug',
            classifier_name=lambda arch: arch.replace('_', '')),
        paper=Paper(
            'MobileViT: Light-weight, General-purpose, and Mobile-friendly '
            'Vision Transformer', 'https://arxiv.org/abs/2110.02178',
            'mehta2022mobilevit', 'inproceedings',
            ('booktitle', 'International Conference on Learning '
             'Representations'), 2022),
        timm_name=lambda arch: f'mobilevit_{short_name(arch)}',
        cvnets_name=lambda arch: f'mobilevit_{short_name(arch)}.pt',
        mmpretrain_type='mmpretrain.MobileViT'))


# -------------------------------------------------------------- MobileViTv2
def _width(arch: str) -> str:
    return f'{round(100 * float(arch)):03d}'  # '1.0' -> '100'


register_family(
    BackboneFamily(
        cls=MobileViTv2,
        # v1's layers have `pre_norm_mha`, `attn.qkv`, `ln1`; timm's
        # qkv_proj is [1 + 2d, d, 1, 1]
        markers=stage5_markers(
            cvnets='pre_norm_attn.0.weight',
            timm=('attn.qkv_proj.weight', 1),
            mmvit='norm1.weight'),
        converters=dict(
            cvnets=_CONVERTERS + 'cvnets_v2:cvnets_v2_to_mmvit',
            timm=_CONVERTERS + 'timm_v2:timm_v2_to_mmvit',
        ),
        display_name=lambda arch: f'MobileViTv2-{arch}',
        config_name=_width,
        configs=task_configs('mobilevitv2', _width, 'voc12aug-coco'),
        paper=Paper(
            'Separable Self-attention for Mobile Vision Transformers',
            'https://arxiv.org/abs/2206.02680', 'mehta2023separable',
            'article', ('journal', 'Transactions on Machine Learning '
                        'Research'), 2023),
        timm_name=v2_timm_name,
        cvnets_name=lambda arch: f'mobilevitv2-{arch}.pt'))
