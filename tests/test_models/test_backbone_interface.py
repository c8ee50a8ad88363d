"""The interface MobileViT and MobileViTv2 share (``MobileViTStages``):
registry scopes, ``init_cfg`` checkpoints, ``with_cp``, ``frozen_stages``
and ``norm_eval``, each test run on both backbones."""
import importlib

import pytest
import torch
import torch.nn as nn
from mmengine.registry import DefaultScope
from numerics import assert_close

from mmvit.models import MobileViT, MobileViTv2

# backbone class, a small arch, its out_channels at out_indices (3, 4)
BACKBONES = [
    pytest.param(MobileViT, 'xx_small', (64, 80), id='MobileViT'),
    pytest.param(MobileViTv2, '0.5', (192, 256), id='MobileViTv2'),
]


@pytest.mark.parametrize('cls,arch,channels', BACKBONES)
@pytest.mark.parametrize('scope', [None, 'mmdet', 'mmseg', 'mmpretrain'])
def test_builds_under_every_default_scope(cls, arch, channels, scope):
    if scope is None:
        from mmengine.registry import MODELS
    else:
        MODELS = importlib.import_module(f'{scope}.registry').MODELS
        importlib.import_module(f'{scope}.utils').register_all_modules(
            init_default_scope=False)
    cfg = dict(type=f'mmvit.{cls.__name__}', arch=arch, out_indices=(3, 4))
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(cfg)
    assert type(model) is cls
    assert model.out_channels == channels
    from mmengine.registry import MODELS as ROOT
    assert cls.__name__ not in ROOT.module_dict  # never in the root
    if scope == 'mmpretrain' and cls is MobileViT:
        # the bare name stays mmpretrain's own class: no collision
        with DefaultScope.overwrite_default_scope(scope):
            other = MODELS.build(dict(type='MobileViT', arch=arch))
        assert type(other) is not MobileViT


@pytest.mark.parametrize('cls,arch,channels', BACKBONES)
def test_pretrained_init_cfg(cls, arch, channels, tmp_path):
    source = cls(arch, out_indices=(3, 4))
    source.init_weights()
    ckpt = tmp_path / 'backbone.pth'
    torch.save({'state_dict': source.state_dict()}, ckpt)
    model = cls(
        arch,
        out_indices=(3, 4),
        init_cfg=dict(type='Pretrained', checkpoint=str(ckpt)))
    model.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


@pytest.mark.parametrize('cls,arch,channels', BACKBONES)
def test_with_cp_matches_plain(cls, arch, channels):
    # no dropout (v1's default draws other masks in the two runs)
    no_drop = dict(drop_rate=0.) if cls is MobileViT else {}
    plain = cls(arch, out_indices=(3, 4), **no_drop).train()
    ckpt = cls(arch, out_indices=(3, 4), with_cp=True, **no_drop).train()
    ckpt.load_state_dict(plain.state_dict())
    x = torch.rand(2, 3, 64, 64)
    outs_plain, outs_ckpt = plain(x), ckpt(x)
    for a, b in zip(outs_plain, outs_ckpt):
        assert_close(b, a)
    sum(o.sum() for o in outs_plain).backward()
    sum(o.sum() for o in outs_ckpt).backward()
    for (name, a), b in zip(plain.named_parameters(), ckpt.parameters()):
        assert_close(b.grad, a.grad, what=name)


def _frozen_modules(model):
    return [model.stem] + [
        getattr(model, n) for n in model.layer_names[:model.frozen_stages]
    ]


@pytest.mark.parametrize('cls,arch,channels', BACKBONES)
@pytest.mark.parametrize('frozen_stages', [-1, 0, 2, 5])
def test_frozen_stages(cls, arch, channels, frozen_stages):
    model = cls(arch, frozen_stages=frozen_stages)
    model.train()
    frozen = _frozen_modules(model) if frozen_stages >= 0 else []
    frozen_ids = {id(p) for m in frozen for p in m.parameters()}
    for param in model.parameters():
        assert param.requires_grad == (id(param) not in frozen_ids)
    for module in frozen:
        assert not any(m.training for m in module.modules())
    trainable = [
        getattr(model, n) for n in model.layer_names[max(frozen_stages, 0):]
    ]
    assert all(m.training for m in trainable)
    assert model.train() is model  # unlike mmpretrain's, train() chains


@pytest.mark.parametrize('cls,arch,channels', BACKBONES)
def test_norm_eval(cls, arch, channels):
    """Every norm (v2's GroupNorms too) stays in eval mode, and the BN
    statistics do not move in a training forward."""
    model = cls(arch, norm_eval=True).train()
    norms = [
        m for m in model.modules()
        if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm))
    ]
    assert norms and not any(m.training for m in norms)
    bns = [m for m in norms if isinstance(m, nn.BatchNorm2d)]
    before = [bn.running_mean.clone() for bn in bns]
    model(torch.rand(2, 3, 64, 64))
    for bn, mean in zip(bns, before):
        assert torch.equal(mean, bn.running_mean)


@pytest.mark.parametrize('cls,arch,channels', BACKBONES)
@pytest.mark.parametrize('kwargs,match', [
    (dict(out_indices=()), 'out_indices must name at least one stage'),
    (dict(out_indices=(1.5, )), r'out_indices must be in \[-'),
    (dict(out_stride=4), r'out_stride must be one of \[8, 16, 32\], got 4'),
    (dict(frozen_stages=6), r'frozen_stages must be in \[-1, 5\], got 6'),
    (dict(drop_path_rate=1.), r'drop_path_rate must be in \[0, 1\), got'),
    (dict(arch=[dict(block='mv2')] * 2), 'arch must be a list of 5 stage '),
])
def test_bad_arguments_are_refused_alike(cls, arch, channels, kwargs, match):
    """The arguments both backbones take are checked up front, with the same
    message (v1 used to fail on an empty ``out_indices`` with a bare
    ``max()`` error)."""
    with pytest.raises(ValueError, match=match):
        cls(**{'arch': arch, **kwargs})
