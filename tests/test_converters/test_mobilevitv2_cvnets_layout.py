"""ml-cvnets MobileViTv2 key layout <-> mmvit: the cvnets keys and shapes
mmvit's models map to are those of the authors' width-1.0 checkpoints
(classifier, SSDLite, DeepLabv3 with auxiliary head), and the conversion is
lossless both ways."""
import os.path as osp
import re

import pytest
import torch
from conftest import REPO_ROOT, parsed_config

from mmvit.apis import build_model
from mmvit.converters.cvnets_v2 import (MARKER, arch_of, cvnets_v2_to_mmvit,
                                        mmvit_v2_to_cvnets, rules)
from mmvit.models.backbones.families import FAMILIES

V2 = FAMILIES['MobileViTv2']

MODELS_DIR = osp.join(REPO_ROOT, 'configs', '_base_', 'models')
KEYS_FILE = osp.join(osp.dirname(__file__), 'mobilevitv2_cvnets_keys.txt')
CONFIGS = {
    'classifier': ('mobilevitv2.py', 'mmpretrain'),
    'detector': ('ssdlite_mobilevitv2.py', 'mmdet'),
    'segmentor': ('deeplabv3_mobilevitv2-d16.py', 'mmseg'),
}
_BUFFER = re.compile(r'\.(running_mean|running_var|num_batches_tracked)$')


def expected_layout(task: str) -> dict:
    """``{cvnets key: shape}`` of the authors' width-1.0 ``task`` checkpoint
    (BN buffers left out), from ``mobilevitv2_cvnets_keys.txt`` beside this
    file, with ``{i}`` expanded over the transformer depths."""
    sections, name = {}, None
    with open(KEYS_FILE) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            if line.startswith('['):
                name = line.strip('[]')
                sections[name] = {}
                continue
            key, shape = line.split(' ', 1)
            shape = tuple(int(s) for s in shape.strip('[]').split(','))
            if '{i}' in key:  # a transformer layer of stage 3, 4 or 5
                depth = V2.depths('1.0')[int(key[len('layer_')])]
            else:
                depth = 1
            for i in range(depth):
                sections[name][key.replace('{i}', str(i))] = shape
    if task == 'classifier':
        return sections['classifier']
    encoder = {
        'encoder.' + k: v
        for k, v in sections['classifier'].items()
        if not k.startswith('classifier.')
    }
    return {**encoder, **sections[task]}


def build(task: str, arch: str = '1.0'):
    name, scope = CONFIGS[task]
    cfg = parsed_config(osp.join(MODELS_DIR, name))
    cfg.default_scope = scope
    assert cfg.model.backbone.arch == arch  # the base configs are width 1.0
    return build_model(cfg)


@pytest.fixture(scope='module', params=list(CONFIGS))
def task_state_dict(request):
    torch.manual_seed(0)
    model = build(request.param)
    with torch.no_grad():  # distinct BN statistics too
        for name, buf in model.named_buffers():
            if buf.is_floating_point():
                buf.uniform_(0.5, 1.5)
    return request.param, model.state_dict()


def test_layout_is_the_authors(task_state_dict):
    task, state_dict = task_state_dict
    cvnets = mmvit_v2_to_cvnets(state_dict)
    got = {
        k: tuple(v.shape)
        for k, v in cvnets.items() if not _BUFFER.search(k)
    }
    expected = expected_layout(task)
    assert sorted(set(got) - set(expected)) == []
    assert sorted(set(expected) - set(got)) == []
    wrong = {k: (got[k], v) for k, v in expected.items() if got[k] != v}
    assert not wrong
    # every BN of cvnets has its statistics
    for key in got:
        if key.endswith('.norm.weight') and '.block.' in key:
            assert key.replace('.weight', '.running_var') in cvnets


def test_round_trip_is_lossless(task_state_dict):
    task, state_dict = task_state_dict
    cvnets = mmvit_v2_to_cvnets(state_dict)
    back = cvnets_v2_to_mmvit(cvnets, arch='1.0')
    assert set(back) == set(state_dict)
    for key, value in state_dict.items():
        assert torch.equal(back[key], value), key


def test_stem_takes_bgr_after_conversion():
    """The released v2 weights expect RGB (ml-cvnets HEAD reads images with
    PIL); converted, the stem takes mmvit's BGR."""
    state_dict = build('classifier').state_dict()
    cvnets = mmvit_v2_to_cvnets(state_dict)
    assert torch.equal(cvnets['conv_1.block.conv.weight'],
                       state_dict['backbone.stem.conv.weight'].flip(1))
    kept = cvnets_v2_to_mmvit(cvnets, rgb_to_bgr=False)
    assert torch.equal(kept['backbone.stem.conv.weight'],
                       cvnets['conv_1.block.conv.weight'])
    assert torch.equal(
        mmvit_v2_to_cvnets(kept, bgr_to_rgb=False)['conv_1.block.conv.weight'],
        cvnets['conv_1.block.conv.weight'])


@pytest.mark.parametrize('arch', V2.archs)
def test_bare_backbone_every_width(arch):
    from mmvit.models.backbones import MobileViTv2
    state_dict = MobileViTv2(arch).state_dict()
    cvnets = mmvit_v2_to_cvnets(state_dict)
    assert 'conv_1.block.conv.weight' in cvnets
    assert arch_of(cvnets) == arch == arch_of(state_dict)
    back = cvnets_v2_to_mmvit(cvnets)
    assert all(torch.equal(back[k], v) for k, v in state_dict.items())
    assert set(back) == set(state_dict)


def test_ssd_predictors_are_split_background_last():
    state_dict = build('detector').state_dict()
    cvnets = mmvit_v2_to_cvnets(state_dict)
    combined = cvnets['ssd_heads.0.loc_cls_layer.pw_conv.block.conv.bias']
    assert combined.shape == (6 * (4 + 81), )
    per_anchor = combined.reshape(6, 85)
    back = cvnets_v2_to_mmvit(cvnets)
    cls = back['bbox_head.cls_convs.0.bias'].reshape(6, 81)
    reg = back['bbox_head.reg_convs.0.bias'].reshape(6, 4)
    assert torch.equal(reg, per_anchor[:, :4])
    assert torch.equal(cls[:, -1], per_anchor[:, 4])  # background
    assert torch.equal(cls[:, :-1], per_anchor[:, 5:])


def test_clear_errors():
    cvnets = mmvit_v2_to_cvnets(build('classifier').state_dict())
    with pytest.raises(
            ValueError,
            match=r"expected MobileViTv2 '2.0', but "
            r"the checkpoint is MobileViTv2 '1.0'"):
        cvnets_v2_to_mmvit(cvnets, arch='2.0')
    with pytest.raises(ValueError, match='no place in mmvit'):
        cvnets_v2_to_mmvit({**cvnets, 'layer_3.1.extra.weight': torch.ones(1)})
    # a v1 checkpoint (`pre_norm_mha`) is not taken for a v2 one
    v1 = {
        re.sub('pre_norm_attn', 'pre_norm_mha', k): v
        for k, v in cvnets.items()
    }
    assert not any(MARKER.search(k) for k in v1)
    # (read as v1, its stage-5 width fits no MobileViT variant)
    with pytest.raises(ValueError, match='known MobileViT widths are'):
        cvnets_v2_to_mmvit(v1)
    with pytest.raises(ValueError, match="unknown task 'detection'"):
        rules('detection')
