import copy
import math
import re

import pytest
import torch
import torch.nn as nn
from conftest import num_params
from numerics import assert_close

from mmvit.models import MobileViT
from mmvit.models.layers import fold_patches, unfold_patches

ARCHS = ('small', 'x_small', 'xx_small')
STAGE_CHANNELS = {
    'small': (32, 64, 96, 128, 160),
    'x_small': (32, 48, 64, 80, 96),
    'xx_small': (16, 24, 48, 64, 80),
}
EXP_CHANNELS = {'small': 640, 'x_small': 384, 'xx_small': 320}
# ml-cvnets / paper counts (Table 4), millions
CLS_PARAMS = {'small': 5.579, 'x_small': 2.318, 'xx_small': 1.272}
BACKBONE_PARAMS = {'small': 4.834, 'x_small': 1.895, 'xx_small': 0.925}


@pytest.mark.parametrize('arch', ARCHS)
def test_param_counts(arch):
    backbone = MobileViT(arch, out_indices=(4, ))
    assert not hasattr(backbone, 'conv_1x1_exp')  # built only when asked
    assert num_params(backbone) / 1e6 == pytest.approx(
        BACKBONE_PARAMS[arch], rel=1e-3)
    full = MobileViT(arch, out_indices=(5, ))
    classifier = nn.Linear(EXP_CHANNELS[arch], 1000)
    total = num_params(full) + num_params(classifier)
    assert total / 1e6 == pytest.approx(CLS_PARAMS[arch], rel=1e-3)


@pytest.mark.parametrize('arch', ARCHS)
@pytest.mark.parametrize('size', [(256, 256), (250, 333)])
def test_output_shapes(arch, size):
    model = MobileViT(arch, out_indices=range(6)).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, *size))
    assert isinstance(outs, tuple) and len(outs) == 6
    strides = (2, 4, 8, 16, 32, 32)
    channels = STAGE_CHANNELS[arch] + (EXP_CHANNELS[arch], )
    for out, stride, ch in zip(outs, strides, channels):
        # feature strides are rounded up, as ml-cvnets' padded convs give
        expected = (1, ch, math.ceil(size[0] / stride),
                    math.ceil(size[1] / stride))
        assert tuple(out.shape) == expected
    assert model.out_channels == channels


@pytest.mark.parametrize('out_stride,size', [(16, 32), (8, 64), (32, 16)])
def test_output_stride(out_stride, size):
    model = MobileViT(
        'xx_small', out_indices=(3, 4), out_stride=out_stride).eval()
    with torch.no_grad():
        c4, c5 = model(torch.rand(1, 3, 512, 512))
    assert c5.shape[-2:] == (size, size)
    assert c4.shape[-2:] == (max(size, 32), max(size, 32))


def _dilations(model, layer):
    return [
        m.dilation[0] for m in getattr(model, layer).modules()
        if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)
    ]


def test_dilation_rule_matches_cvnets():
    """OS16 dilates layer5, OS8 layers 4 and 5; a dilated stage's
    down-sampling MV2 keeps the previous dilation and MobileViT-block convs are
    never dilated."""
    os8 = MobileViT('xx_small', out_stride=8)
    # layer4: MV2 dw d=1 (previous), block convs d=1
    assert _dilations(os8, 'layer4') == [1, 1, 1]
    # layer5: MV2 dw d=2 (previous), block convs d=1
    assert _dilations(os8, 'layer5') == [2, 1, 1]
    os16 = MobileViT('xx_small', out_stride=16)
    assert _dilations(os16, 'layer4') == [1, 1, 1]
    assert _dilations(os16, 'layer5') == [1, 1, 1]
    assert os16.layer5[0].conv[1].conv.stride == (1, 1)
    assert os16.layer4[0].conv[1].conv.stride == (2, 2)


def test_out_indices_negative_and_not_mutated():
    indices = [-1, 3]
    model = MobileViT('xx_small', out_indices=indices)
    assert indices == [-1, 3]
    assert model.out_indices == (3, 5)
    outs = model(torch.rand(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [64, 320]


@pytest.mark.parametrize(
    'kwargs,error,match',
    [
        (dict(arch='large'), KeyError, r"valid archs are \['small', "),
        (dict(out_indices=(6, )), ValueError, 'out_indices must be in'),
        (dict(out_indices=()), ValueError,
         'out_indices must name at least one stage'),
        (dict(out_stride=4), ValueError, 'out_stride must be one of'),
        (dict(frozen_stages=6), ValueError, 'frozen_stages'),
        (dict(arch=[dict(block='mv2')] * 2), ValueError, 'list of 5'),
    ])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        MobileViT(**kwargs)


def test_custom_arch_named_settings():
    stages = [
        dict(block='mv2', out_channels=16, stride=1, expand_ratio=2),
        dict(
            block='mv2', out_channels=24, stride=2, expand_ratio=2,
            num_blocks=2),
        dict(
            block='mobilevit',
            out_channels=32,
            stride=2,
            expand_ratio=2,
            embed_dims=32,
            feedforward_channels=64,
            num_transformer_blocks=1),
        dict(
            block='mobilevit',
            out_channels=48,
            stride=2,
            expand_ratio=2,
            embed_dims=48,
            feedforward_channels=96,
            num_transformer_blocks=1,
            num_heads=2),
        dict(
            block='mobilevit',
            out_channels=64,
            stride=2,
            expand_ratio=2,
            embed_dims=64,
            feedforward_channels=128,
            num_transformer_blocks=1),
    ]
    model = MobileViT(stages, out_indices=(2, 3, 4))
    outs = model(torch.rand(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 8, 8), (2, 48, 4, 4),
                                              (2, 64, 2, 2)]
    bad = copy.deepcopy(stages)
    bad[2]['embed_dim'] = 32
    with pytest.raises(ValueError, match=r"unknown stage setting keys "
                       r"\['embed_dim'\]; valid keys are"):
        MobileViT(bad)
    bad = copy.deepcopy(stages)
    del bad[4]['feedforward_channels']
    with pytest.raises(ValueError,
                       match='needs embed_dims, feedforward_channels'):
        MobileViT(bad)


@pytest.mark.parametrize('arch', ARCHS)
def test_every_parameter_gets_gradient(arch):
    model = MobileViT(arch, out_indices=range(6)).train()
    outs = model(torch.rand(2, 3, 64, 96))
    sum(o.mean() for o in outs).backward()
    missing = [
        n for n, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)
    ]
    assert not missing


def test_cfgs_passed_all_the_way_down():
    model = MobileViT(
        'xx_small',
        out_indices=(5, ),
        norm_cfg=dict(type='GN', num_groups=8),
        act_cfg=dict(type='ReLU'))
    kinds = {type(m) for m in model.modules()}
    assert nn.SiLU not in kinds and nn.BatchNorm2d not in kinds
    assert nn.GroupNorm in kinds and nn.ReLU in kinds
    # the transformer FFN follows act_cfg too
    assert isinstance(model.layer3[1].global_rep[0].ffn[1], nn.ReLU)


def test_default_dropouts_follow_the_recipe():
    def drops(model):
        return {
            m.p
            for n, m in model.named_modules()
            if isinstance(m, nn.Dropout) and n.endswith('.dropout')
        }

    assert drops(MobileViT('small')) == {0.1}
    assert drops(MobileViT('xx_small')) == {0.05}
    assert drops(MobileViT('xx_small', drop_rate=0.)) == {0.}


@pytest.mark.parametrize('size', [(8, 8), (7, 10), (5, 3)])
def test_unfold_fold_roundtrip(size):
    x = torch.rand(2, 6, *size)
    tokens, info = unfold_patches(x, 2)
    n = math.ceil(size[0] / 2) * math.ceil(size[1] / 2)
    assert tokens.shape == (2 * 4, n, 6)
    back = fold_patches(tokens, info)
    assert back.shape == x.shape
    if size[0] % 2 == 0 and size[1] % 2 == 0:
        assert torch.equal(back, x)


def test_unfold_groups_pixels_of_a_patch():
    # token t of sequence p is pixel p of patch t
    x = torch.arange(16.).reshape(1, 1, 4, 4)
    tokens, _ = unfold_patches(x, 2)
    assert tokens[:, 0, 0].tolist() == [0., 1., 4., 5.]  # top-left patch
    assert tokens[0, :, 0].tolist() == [0., 2., 8., 10.]  # pixel (0, 0)


def _mmpretrain_to_mmvit(state_dict):
    """Rename mmpretrain MobileViT keys to mmvit's (same tensors)."""
    out = {}
    for key, value in state_dict.items():
        key = re.sub(r'^layers\.(\d)\.',
                     lambda m: f'layer{int(m.group(1)) + 1}.', key)
        key = key.replace('.ffn.layers.0.0.', '.ffn.0.')
        key = key.replace('.ffn.layers.1.', '.ffn.3.')
        out[key] = value
    return out


@pytest.mark.parametrize('arch', ARCHS)
@pytest.mark.parametrize('size', [(256, 256), (250, 333)])
def test_numerically_equal_to_mmpretrain(arch, size):
    """mmpretrain's MobileViT reproduces the published ImageNet accuracy with
    converted ml-cvnets weights; the same weights give the same features."""
    from mmpretrain.models.backbones import MobileViT as MMPretrainMobileViT
    reference = MMPretrainMobileViT(arch=arch, out_indices=[0, 1, 2, 3, 4])
    reference.init_weights()
    for m in reference.modules():  # non-trivial BN statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    reference.eval()
    model = MobileViT(arch, out_indices=range(6)).eval()
    missing, unexpected = model.load_state_dict(
        _mmpretrain_to_mmvit(reference.state_dict()), strict=True)
    assert not missing and not unexpected
    x = torch.rand(1, 3, *size)
    with torch.no_grad():
        ref_outs = reference(x)
        outs = model(x)
    # mmpretrain's index 4 is the expansion layer's output
    for ref, out in zip(ref_outs, outs[:4] + outs[5:]):
        assert_close(out, ref)


@pytest.mark.parametrize('out_indices', [(2, 3), (3, 4), (0, ), (4, )])
def test_trainable_parameters_get_gradients_for_any_out_indices(out_indices):
    """Under DDP (find_unused_parameters=False) every parameter that requires
    grad must get one: stages after the deepest output do not run and are
    frozen, but built, so checkpoints keep the full key set."""
    model = MobileViT('xx_small', out_indices=out_indices).train()
    outs = model(torch.rand(2, 3, 64, 64))
    assert len(outs) == len(out_indices)
    sum(o.mean() for o in outs).backward()
    missing = [
        n for n, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)
    ]
    assert not missing
    trained = {name: i <= max(out_indices)
               for i, name in enumerate(model.layer_names)}
    assert trained == {
        name: all(p.requires_grad for p in getattr(model, name).parameters())
        for name in model.layer_names
    }
    # a full (classification) backbone's weights, less the expansion layer,
    # still load strictly
    full = MobileViT('xx_small', out_indices=(5, )).state_dict()
    model.load_state_dict(
        {k: v
         for k, v in full.items() if not k.startswith('conv_1x1_exp.')},
        strict=True)


def _cxx_compiler():
    import os
    import shutil
    names = [os.environ.get('CXX'), 'g++', 'clang++', 'c++']
    return next((n for n in names if n and shutil.which(n)), None)


@pytest.mark.slow  # inductor compiles for ~1 min on CPU
@pytest.mark.skipif(
    _cxx_compiler() is None,
    reason='torch.compile (inductor on CPU) needs a C++ compiler: none of '
    '$CXX, g++, clang++, c++ is on PATH')
def test_compile_backbone_hook_matches_eager():
    """mmvit.CompileBackboneHook compiles the backbone in place: same
    outputs as eager, same parameter names (checkpoints unchanged)."""
    import types

    from mmvit.engine.hooks import CompileBackboneHook

    class Detector(nn.Module):

        def __init__(self):
            super().__init__()
            self.backbone = MobileViT(
                'xx_small', out_indices=(3, 4), drop_rate=0.)

    model = Detector().eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        eager = model.backbone(x)
    keys = list(model.state_dict())
    CompileBackboneHook().before_train(types.SimpleNamespace(model=model))
    with torch.no_grad():
        compiled = model.backbone(x)
    assert model.backbone._compiled_call_impl is not None
    assert list(model.state_dict()) == keys
    for a, b in zip(compiled, eager):
        assert_close(a, b)
