"""MobileViTv2 backbone: the width table, parameter counts of the classifier,
SSDLite and DeepLabv3 models against the authors' code, shapes at every width
and output stride (odd sizes included), the interface shared with v1
(out_indices, frozen_stages, norm_eval, with_cp, cfgs), clear errors."""
import copy
import math
import os.path as osp

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from conftest import (REPO_ROOT, num_params, parsed_config,
                      randomize_group_norms, torch_generator)
from mmengine.config import Config
from numerics import assert_close

from mmvit.apis import build_model
from mmvit.models.backbones import MobileViTv2, StageSettingV2
from mmvit.models.backbones.families import family_of_class
from mmvit.models.backbones.mobilevitv2 import timm_name
from mmvit.models.layers import (SeparableSelfAttention,
                                 SeparableTransformerLayer)

ARCHS = ('0.5', '0.75', '1.0', '1.25', '1.5', '1.75', '2.0')
# (stem, stage channels, attention widths of stages 2-4): the authors'
# models at each width (ml-cvnets `config/mobilevit_v2.py`, timm
# `mobilevitv2_*`)
WIDTHS = {
    '0.5': (16, (32, 64, 128, 192, 256), (64, 96, 128)),
    '0.75': (24, (48, 96, 192, 288, 384), (96, 144, 192)),
    '1.0': (32, (64, 128, 256, 384, 512), (128, 192, 256)),
    '1.25': (40, (80, 160, 320, 480, 640), (160, 240, 320)),
    '1.5': (48, (96, 192, 384, 576, 768), (192, 288, 384)),
    '1.75': (56, (112, 224, 448, 672, 896), (224, 336, 448)),
    '2.0': (64, (128, 256, 512, 768, 1024), (256, 384, 512)),
}
from mobilevitv2_facts import PARAMS  # noqa: E402
MODELS_DIR = osp.join(REPO_ROOT, 'configs', '_base_', 'models')


def v2_config(name: str, arch: str, scope: str) -> Config:
    """A v2 base model config (width 1.0) set to ``arch`` the way its
    comment says: every channel derived from the backbone table."""
    cfg = parsed_config(osp.join(MODELS_DIR, name))
    cfg.default_scope = scope
    model = cfg.model
    model.backbone.arch = arch
    c4, c5 = MobileViTv2.arch_out_channels(arch, (3, 4))
    if 'bbox_head' in model:
        model.neck.in_channels = (c4, c5)
        model.bbox_head.in_channels = (c4, c5) + tuple(
            model.bbox_head.in_channels[2:])
    elif 'decode_head' in model:
        model.decode_head.in_channels = c5
        model.auxiliary_head.in_channels = c4
        model.auxiliary_head.channels = max(c4 // 4, 128)
    else:
        model.head.in_channels = c5
    return cfg


@pytest.mark.parametrize('arch', ARCHS)
def test_width_table(arch):
    stem, channels, embed_dims = WIDTHS[arch]
    model = MobileViTv2(arch, out_indices=range(5))
    assert model.stem.conv.out_channels == stem
    assert model.stage_channels == channels == model.out_channels
    assert tuple(s.embed_dims for s in model.stage_settings[2:]) == embed_dims
    # FFN width 2d, transformer depths 2 / 4 / 3, MV2 expansion 2
    for layer, dim, depth in zip((model.layer3, model.layer4, model.layer5),
                                 embed_dims, (2, 4, 3)):
        rep = layer[1].global_rep
        assert len(rep) == depth + 1  # + the final norm
        assert rep[0].ffn[0].out_channels == 2 * dim
    assert model.layer2[0].conv[0].conv.out_channels == 2 * channels[0]
    family = family_of_class(MobileViTv2)
    assert family.arch_of_width(embed_dims[-1]) == arch
    assert family.depths(arch) == {3: 2, 4: 4, 5: 3}
    assert timm_name(arch) == 'mobilevitv2_%03d' % round(100 * float(arch))


@pytest.mark.parametrize('arch', ARCHS)
def test_param_counts_of_every_task(arch):
    """Exactly the parameter counts of the authors' models."""
    classifier, detector, segmentor, segmentor_no_aux = PARAMS[arch]
    built = {
        'classifier':
        build_model(v2_config('mobilevitv2.py', arch, 'mmpretrain')),
        'detector':
        build_model(v2_config('ssdlite_mobilevitv2.py', arch, 'mmdet')),
    }
    seg = v2_config('deeplabv3_mobilevitv2-d16.py', arch, 'mmseg')
    built['segmentor'] = build_model(seg)
    seg.model.auxiliary_head = None
    built['segmentor_no_aux'] = build_model(seg)
    assert {
        k: num_params(m)
        for k, m in built.items()
    } == dict(
        classifier=classifier,
        detector=detector,
        segmentor=segmentor,
        segmentor_no_aux=segmentor_no_aux)
    assert num_params(
        MobileViTv2(arch)) == classifier - (1000 * (WIDTHS[arch][1][-1] + 1))


def expected_sizes(height: int, width: int, out_stride: int = 32):
    """Stage output sizes: stride-2 convs round up, and a MobileViTv2 block
    resizes its input up to even sides (2x2 patches) and keeps that size."""

    def even(n):
        return n + n % 2

    strides = {32: (1, 2, 2, 2, 2), 16: (1, 2, 2, 2, 1), 8: (1, 2, 2, 1, 1)}
    h, w = math.ceil(height / 2), math.ceil(width / 2)  # stem
    sizes = []
    for i, stride in enumerate(strides[out_stride]):
        h, w = math.ceil(h / stride), math.ceil(w / stride)
        if i >= 2:  # stages with a MobileViTv2 block
            h, w = even(h), even(w)
        sizes.append((h, w))
    return sizes


@pytest.mark.parametrize('arch', ARCHS)
@pytest.mark.parametrize('out_stride', [32, 16, 8])
def test_output_shapes(arch, out_stride):
    model = MobileViTv2(
        arch, out_indices=range(5), out_stride=out_stride).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 64, 64))
    sizes = expected_sizes(64, 64, out_stride)
    assert [tuple(o.shape) for o in outs
            ] == [(1, c, *s) for c, s in zip(WIDTHS[arch][1], sizes)]
    assert sizes[-1] == (64 // out_stride, ) * 2


@pytest.mark.parametrize('size', [(67, 93), (50, 50), (33, 130)])
def test_odd_input_sizes(size):
    model = MobileViTv2('0.5', out_indices=range(5)).eval()
    with torch.no_grad():
        outs = model(torch.rand(2, 3, *size))
    assert [tuple(o.shape[-2:]) for o in outs] == expected_sizes(*size)


def test_block_resizes_with_align_corners():
    """An odd map is resized up to even sides with ``align_corners=True``
    before the block (ml-cvnets v2), not resized back."""
    block = MobileViTv2('0.5').layer3[1].eval()
    x = torch.rand(1, 128, 7, 9)
    with torch.no_grad():
        out = block(x)
        resized = F.interpolate(
            x, size=(8, 10), mode='bilinear', align_corners=True)
        assert_close(out, block(resized))
    assert out.shape == (1, 128, 8, 10)


def _conv3x3(module):
    return [
        m for m in module.modules()
        if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)
    ]


def test_dilation_rule_matches_cvnets():
    """OS16 dilates layer5, OS8 layers 4 and 5: a dilated stage's
    down-sampling MV2 keeps the previous dilation and runs at stride 1, its
    MobileViTv2 block's depthwise conv takes the new one."""

    def dilations(model, layer):
        return [m.dilation[0] for m in _conv3x3(getattr(model, layer))]

    os32 = MobileViTv2('0.5')
    assert [dilations(os32, f'layer{i}') for i in (3, 4, 5)] == [[1, 1]] * 3
    os16 = MobileViTv2('0.5', out_stride=16)
    assert dilations(os16, 'layer4') == [1, 1]
    assert dilations(os16, 'layer5') == [1, 2]
    assert _conv3x3(os16.layer5)[0].stride == (1, 1)
    assert _conv3x3(os16.layer4)[0].stride == (2, 2)
    os8 = MobileViTv2('0.5', out_stride=8)
    assert dilations(os8, 'layer4') == [1, 2]
    assert dilations(os8, 'layer5') == [2, 4]
    for conv in _conv3x3(os8):  # 'same' padding everywhere
        assert conv.padding[0] == conv.dilation[0]


def test_out_indices_negative_sorted_and_not_mutated():
    indices = [-1, 1, 3, 1]
    model = MobileViTv2('0.5', out_indices=indices)
    assert indices == [-1, 1, 3, 1]
    assert model.out_indices == (1, 3, 4)
    outs = model(torch.rand(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [64, 192, 256]
    assert model.out_channels == MobileViTv2.arch_out_channels(
        '0.5', indices) == (64, 192, 256)


@pytest.mark.parametrize('kwargs,error,match', [
    (dict(arch='3.0'), KeyError,
     r"unknown MobileViTv2 arch '3.0'; valid archs are \['0.5', "),
    (dict(arch='small'), KeyError, "valid archs are"),
    (dict(arch=-1.), ValueError, 'widen_factor must be a positive'),
    (dict(out_indices=(5, )), ValueError,
     r'no expansion layer, so no index 5\), got \(5,\)'),
    (dict(out_indices=()), ValueError, 'at least one stage'),
    (dict(out_stride=4), ValueError,
     r'out_stride must be one of \[8, 16, 32\], got 4'),
    (dict(frozen_stages=6), ValueError, r'frozen_stages must be in'),
    (dict(arch=[dict(block='mv2')] * 2), ValueError, 'list of 5 stage'),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        MobileViTv2(**kwargs)


CUSTOM = [
    dict(block='mv2', out_channels=16, stride=1),
    dict(block='mv2', out_channels=24, stride=2, num_blocks=2),
    dict(
        block='mobilevitv2',
        out_channels=32,
        stride=2,
        embed_dims=20,  # FFN 40 -> 32 (down to a multiple of 16)
        num_transformer_blocks=1),
    dict(
        block='mobilevitv2',
        out_channels=48,
        stride=2,
        embed_dims=24,
        feedforward_channels=40,
        num_transformer_blocks=2,
        expand_ratio=3),
    dict(
        block='mobilevitv2',
        out_channels=64,
        stride=2,
        embed_dims=32,
        ffn_ratio=3,
        num_transformer_blocks=1),
]


def test_custom_arch_named_settings():
    model = MobileViTv2(CUSTOM, stem_channels=8, out_indices=(2, 3, 4))
    outs = model(torch.rand(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 8, 8), (2, 48, 4, 4),
                                              (2, 64, 2, 2)]
    assert model.stem.conv.out_channels == 8
    assert MobileViTv2(CUSTOM).stem.conv.out_channels == 32  # the default
    ffn = [model.layer3[1], model.layer4[1], model.layer5[1]]
    assert [b.global_rep[0].ffn[0].out_channels for b in ffn] == [32, 40, 96]
    assert len(model.layer4[1].global_rep) == 3
    assert model.layer4[0].conv[0].conv.out_channels == 96  # 32 * 3


@pytest.mark.parametrize('change,match', [
    (dict(embed_dim=20), r"unknown stage setting keys \['embed_dim'\]; "
     r"valid keys are \['block', 'out_channels'"),
    (dict(embed_dims=None), 'needs embed_dims and num_transformer_blocks'),
    (dict(block='mobilevit'), "must be 'mv2' or 'mobilevitv2'"),
    (dict(stride=3), 'stride must be 1 or 2'),
    (dict(num_blocks=2), 'num_blocks must be 1'),
    (dict(block='mv2'), r"\['embed_dims', 'num_transformer_blocks'\] apply "
     r"to 'mobilevitv2' stages only"),
])
def test_custom_arch_errors(change, match):
    stages = copy.deepcopy(CUSTOM)
    stages[2].update(change)
    with pytest.raises(ValueError, match=match):
        MobileViTv2(stages)


def test_width_multiplier_as_a_number():
    """A number builds the same network as the key of that width, and any
    other width by the same rules."""
    a, b = MobileViTv2(1.25), MobileViTv2('1.25')
    assert a.stage_settings == b.stage_settings
    assert {
        k: v.shape
        for k, v in a.state_dict().items()
    } == {
        k: v.shape
        for k, v in b.state_dict().items()
    }
    odd = MobileViTv2(0.6, out_indices=range(5))
    # 32*0.6=19.2 -> 24 (multiple of 8 within 10%); stage 0 to 16s: 38.4 ->
    # 48; others to 8s; attention widths 76.8, 115.2, 153.6 -> 80, 112, 152
    assert odd.stem.conv.out_channels == 24
    assert odd.stage_channels == (48, 80, 152, 232, 304)
    assert [s.embed_dims for s in odd.stage_settings[2:]] == [80, 112, 152]
    assert isinstance(StageSettingV2.from_dict(CUSTOM[0]), StageSettingV2)


def _params_without_grad(model):
    return [
        n for n, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)
    ]


def test_every_parameter_gets_gradient():
    model = MobileViTv2(
        '0.5', out_indices=range(5), drop_path_rate=0.1).train()
    outs = model(torch.rand(2, 3, 64, 96))
    sum(o.mean() for o in outs).backward()
    assert not _params_without_grad(model)


@pytest.mark.parametrize('out_indices', [(2, 3), (0, ), (4, )])
def test_unused_stages_are_not_run_and_frozen(out_indices):
    """As v1: under DDP (find_unused_parameters=False) every parameter that
    requires grad must get one; the stages after the deepest output are
    built (full checkpoints load strictly) but frozen and not run."""
    model = MobileViTv2('0.5', out_indices=out_indices).train()
    outs = model(torch.rand(2, 3, 64, 64))
    assert len(outs) == len(out_indices)
    sum(o.mean() for o in outs).backward()
    assert not _params_without_grad(model)
    assert {
        name: all(p.requires_grad for p in getattr(model, name).parameters())
        for name in model.layer_names
    } == {
        name: i <= max(out_indices)
        for i, name in enumerate(model.layer_names)
    }
    model.load_state_dict(MobileViTv2('0.5').state_dict(), strict=True)


def test_cfgs_passed_all_the_way_down():
    model = MobileViTv2(
        '0.5',
        norm_cfg=dict(type='GN', num_groups=8),
        act_cfg=dict(type='ReLU'),
        attn_norm_cfg=dict(type='GN', num_groups=2))
    kinds = {type(m) for m in model.modules()}
    assert nn.SiLU not in kinds and nn.BatchNorm2d not in kinds
    assert nn.ReLU in kinds
    groups = {
        m.num_groups
        for m in model.modules() if isinstance(m, nn.GroupNorm)
    }
    assert groups == {8, 2}
    block = model.layer3[1]
    assert isinstance(block.global_rep[0].ffn[1], nn.ReLU)
    assert block.global_rep[-1].num_groups == 2
    assert not block.conv_proj.with_activation
    model(torch.rand(2, 3, 64, 64))


def test_default_norms_are_cvnets_layer_norm_2d():
    block = MobileViTv2('0.5').layer3[1]
    norms = [
        m for m in block.global_rep.modules() if isinstance(m, nn.GroupNorm)
    ]
    assert len(norms) == 2 * 2 + 1  # two per layer + the final norm
    assert all(m.num_groups == 1 and m.eps == 1e-5 for m in norms)
    # no fusion conv / shortcut: the block is local_rep, global_rep,
    # conv_proj (BN, no activation)
    assert [n for n, _ in block.named_children()
            ] == ['local_rep', 'global_rep', 'conv_proj']
    assert not block.conv_proj.with_activation
    assert block.local_rep[0].conv.groups == 128  # depthwise


@pytest.mark.parametrize('size', [(4, 6), (8, 8), (2, 10)])
def test_layers_on_the_map_equal_ml_cvnets_unfold_layers_fold(size):
    """The layers attend over the map's patch grid in place; ml-cvnets
    unfolds into ``[B, d, P, N]`` tokens first (``F.unfold`` layout) and
    folds back after: the same values."""
    on_map = SeparableTransformerLayer(5, 7, patch_size=2).eval()
    on_tokens = SeparableTransformerLayer(5, 7).eval()
    randomize_group_norms(on_map, 4)
    on_tokens.load_state_dict(on_map.state_dict())
    x = torch.randn(2, 5, *size, generator=torch_generator(1))
    n = size[0] // 2 * (size[1] // 2)
    with torch.no_grad():
        tokens = F.unfold(x, kernel_size=2, stride=2).reshape(2, 5, 4, n)
        expected = F.fold(
            on_tokens(tokens).reshape(2, 20, n), size, kernel_size=2,
            stride=2)
        out = on_map(x)
    assert_close(out, expected)
    with pytest.raises(ValueError, match='resize it to multiples'):
        on_map(torch.rand(1, 5, 3, 4))


def test_separable_attention_mixes_patches_not_pixel_positions():
    """Each pixel position ``p`` attends over the ``N`` patches only: the
    output is permutation-equivariant in ``N`` and position ``p`` does not
    see the inputs of other positions."""
    attn = SeparableSelfAttention(8).eval()
    x = torch.randn(2, 8, 4, 6, generator=torch_generator(2))
    with torch.no_grad():
        out = attn(x)
        perm = torch.randperm(6, generator=torch_generator(3))
        assert_close(attn(x[..., perm]), out[..., perm])
        changed = x.clone()
        changed[:, :, 1:] = torch.randn(2, 8, 3, 6)
        assert_close(attn(changed)[:, :, :1], out[:, :, :1])
        # a reference of the formula, per pixel position and patch
        q, k, v = attn.qkv_proj(x).split([1, 8, 8], dim=1)
        scores = q.softmax(-1)
        context = torch.einsum('bdpn,bpn->bdp', k, scores[:, 0])
        expected = attn.out_proj(v.relu() * context[..., None])
        assert_close(out, expected)
