"""A backbone family is one record: a throwaway family (a tiny backbone
registered here, one record, a converter from one format) is picked up by
the converters (format and arch detection, conversion), the config
preflight (output channels) and the benchmark tables, and removing it leaves
the real families as they were."""
import dataclasses
import re
from collections import OrderedDict
from typing import ClassVar, Optional

import pytest
import torch
import torch.nn as nn
from conftest import load_tool
from mmengine.config import Config

from mmvit.converters import (FormatMismatchError, convert_state_dict,
                              detect_format_and_arch)
from mmvit.converters.detect import family, transformer_depths
from mmvit.converters.key_rules import KeyRule
from mmvit.converters.mmvit_keys import convert_with_rules
from mmvit.models.backbones.families import (FAMILIES, BackboneFamily, Marker,
                                             Paper, family_of_arch,
                                             family_of_class, register_family,
                                             unregister_family)
from mmvit.preflight import check_config
from mmvit.registry import MODELS


@dataclasses.dataclass(frozen=True)
class TinyStage:
    block: str
    out_channels: int
    embed_dims: Optional[int] = None
    num_transformer_blocks: Optional[int] = None

    attn_block: ClassVar[str] = 'tiny'


class TinyViT(nn.Module):
    """Two stages: a stride-2 conv, then a stride-2 conv and an "attention
    block" of ``num_transformer_blocks`` 1x1 convs and a final norm."""
    num_stages = 2
    num_outputs = 2
    arch_settings = {
        'tiny_a':
        dict(stages=(TinyStage('conv', 8),
                     TinyStage('tiny', 16, 16, num_transformer_blocks=2))),
        'tiny_b':
        dict(stages=(TinyStage('conv', 8),
                     TinyStage('tiny', 24, 24, num_transformer_blocks=3))),
    }

    def __init__(self, arch: str = 'tiny_a', out_indices=(1, )):
        super().__init__()
        first, second = self.arch_settings[arch]['stages']
        self.out_indices = tuple(out_indices)
        self.layer1 = nn.Conv2d(3, first.out_channels, 3, 2, 1)
        width = second.embed_dims
        self.layer2 = nn.Sequential(
            nn.Conv2d(first.out_channels, width, 3, 2, 1),
            nn.Sequential(*[
                nn.Conv2d(width, width, 1)
                for _ in range(second.num_transformer_blocks)
            ], nn.GroupNorm(1, width)))

    @classmethod
    def arch_out_channels(cls, arch: str, out_indices):
        stages = cls.arch_settings[arch]['stages']
        return tuple(stages[i].out_channels for i in out_indices)

    def forward(self, x):
        outs = []
        for i, layer in enumerate((self.layer1, self.layer2)):
            x = layer(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


# the source layout: `stem`, `blocks.conv`, `blocks.attn.{i}`, `blocks.norm`
RULES = [
    KeyRule('stem.{t}', 'layer1.{t}'),
    KeyRule('blocks.conv.{t}', 'layer2.0.{t}'),
    KeyRule('blocks.attn.{i}.{t}', 'layer2.1.{i}.{t}'),
    KeyRule(
        'blocks.norm.{t}',
        'layer2.1.{depth}.{t}',
        derived={'depth': lambda fields, context: context['depths'][2]}),
]


def tiny_to_mmvit(state_dict, arch=None):
    """The family's converter (what its record names)."""
    return convert_with_rules(state_dict, 'timm', 'TinyViT', arch,
                              lambda keys: 'backbone', lambda task: RULES,
                              'timm TinyViT')[0]


RECORD = BackboneFamily(
    cls=TinyViT,
    display_name=lambda arch: f'TinyViT-{arch}',
    config_name=lambda arch: arch[-1],
    configs={},
    markers=dict(
        timm=Marker(re.compile(r'^blocks\.attn\.0\.weight$')),
        mmvit=Marker(re.compile(r'^(backbone\.)?layer2\.1\.0\.weight$'))),
    converters=dict(timm=f'{__name__}:tiny_to_mmvit'),
    paper=Paper('Tiny', 'https://arxiv.org/abs/0000.00000', 'tiny', 'misc',
                ('note', 'a test'), 2024))


def _real_families():
    return [(name, f, f.archs) for name, f in FAMILIES.items()]


@pytest.fixture
def tiny_family():
    before = _real_families()
    MODELS.register_module(name='TinyViT', module=TinyViT)
    register_family(RECORD)
    try:
        yield RECORD
    finally:
        unregister_family('TinyViT')
        MODELS._module_dict.pop('TinyViT')
        assert _real_families() == before
        assert MODELS.get('TinyViT') is None


def _source(model: TinyViT) -> 'OrderedDict':
    """``model``'s weights in the source layout."""
    renames = (('layer1.', 'stem.'), ('layer2.0.', 'blocks.conv.'),
               (f'layer2.1.{len(model.layer2[1]) - 1}.', 'blocks.norm.'),
               ('layer2.1.', 'blocks.attn.'))
    source = OrderedDict()
    for key, value in model.state_dict().items():
        old, new = next(pair for pair in renames if key.startswith(pair[0]))
        source[new + key[len(old):]] = value
    return source


def test_registering_keeps_the_real_families(tiny_family):
    assert list(FAMILIES)[-1] == 'TinyViT'
    assert family_of_arch('tiny_b') is tiny_family
    assert family_of_class(TinyViT) is tiny_family
    assert family_of_arch('small').name == 'MobileViT'
    assert family_of_arch('1.0').name == 'MobileViTv2'
    with pytest.raises(ValueError, match='TinyViT is registered'):
        register_family(tiny_family)
    with pytest.raises(ValueError, match="'tiny_a': 'TinyViT'"):
        register_family(dataclasses.replace(tiny_family, cls=type(
            'OtherViT', (TinyViT, ), {})))
    assert tiny_family.depths('tiny_b') == {2: 3}
    assert tiny_family.arch_of_width(16) == 'tiny_a'
    assert tiny_family.feature_out_indices == (1, )


def test_converters_detect_and_convert_it(tiny_family):
    model = TinyViT('tiny_b')
    source = _source(model)
    assert detect_format_and_arch(source) == ('timm', 'tiny_b')
    assert detect_format_and_arch(model.state_dict()) == ('mmvit', 'tiny_b')
    assert family('tiny_b') == 'TinyViT'
    assert transformer_depths('tiny_b') == {2: 3}

    converted, info = convert_state_dict(source)
    assert info == dict(format='timm', arch='tiny_b', task='backbone')
    assert list(converted) == list(model.state_dict())
    TinyViT('tiny_b').load_state_dict(converted, strict=True)

    with pytest.raises(FormatMismatchError):
        convert_state_dict(source, fmt='cvnets')
    with pytest.raises(ValueError, match="expected TinyViT 'tiny_a'"):
        convert_state_dict(source, arch='tiny_a')
    with pytest.raises(ValueError, match='no released TinyViT width'):
        detect_format_and_arch({'blocks.attn.0.weight': torch.ones(5)})
    # the real families' checkpoints are read as before
    from mmvit.models import MobileViTv2
    real = MobileViTv2('0.5').state_dict()
    assert detect_format_and_arch(real) == ('mmvit', '0.5')


def test_preflight_reads_its_out_channels(tiny_family):
    backbone = dict(type='mmvit.TinyViT', arch='tiny_b', out_indices=(0, 1))
    cfg = Config(
        dict(
            model=dict(
                type='SomeDetector',
                backbone=backbone,
                neck=dict(type='SomeNeck', in_channels=[8, 16]))))
    with pytest.raises(ValueError) as err:
        check_config(cfg, 'test')
    assert str(err.value) == (
        'model.neck.in_channels is (8, 16) but model.backbone '
        "(mmvit.TinyViT, arch='tiny_b', out_indices=(0, 1)) outputs (8, 24) "
        'channels; set model.neck.in_channels=(8, 24)')
    cfg.model.neck.in_channels = [8, 24]
    check_config(cfg, 'test')


def test_benchmark_tables_list_it(tiny_family):
    benchmark = load_tool('analysis/benchmark.py')
    assert benchmark.parse_args([]).archs[-2:] == ['tiny_a', 'tiny_b']
    args = benchmark.parse_args(['--quick', '--no-deploy', '--archs',
                                 'tiny_a'])
    case, = benchmark.backbone_cases('tiny_a', args)  # no timm, mmpretrain
    assert (case.name, case.kind) == ('mmvit TinyViT-tiny_a', 'eager')
    assert case.params == sum(p.numel() for p in TinyViT().parameters())
    assert benchmark.config_cases('detector', ['tiny_a'],
                                  benchmark.parse_args(['--no-peers'])) == []
