"""timm ``mobilevitv2_*`` -> mmvit ``MobileViTv2``: the converted weights
give timm's features and logits at all seven widths (random weights with
non-trivial norms, an input size whose maps need the blocks' resize)."""
import pytest
import torch
import torch.nn as nn
from conftest import randomize_group_norms, randomize_norms, torch_generator
from mmengine.registry import DefaultScope
from numerics import assert_close, assert_same_top

timm = pytest.importorskip('timm')

from mmvit.converters.timm_v2 import (
    MARKER,
    arch_of,
    rules,  # noqa: E402
    timm_v2_to_mmvit)
from mmvit.models.backbones.mobilevitv2 import (
    ARCH_SETTINGS,  # noqa: E402
    timm_name)

ARCHS = tuple(ARCH_SETTINGS)
# 80x72: stage maps 10x9 -> 10x10, 5x5 -> 6x6, 3x3 -> 4x4 (the blocks'
# align_corners resize runs in three stages)
SIZE = (80, 72)


def timm_model(arch: str) -> nn.Module:
    model = timm.create_model(timm_name(arch), pretrained=False)
    randomize_norms(model, offset=10)
    randomize_group_norms(model, offset=11)
    return model.eval()


def mmvit_classifier(arch: str) -> nn.Module:
    from mmpretrain.registry import MODELS
    from mmpretrain.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = dict(
        type='ImageClassifier',
        backbone=dict(
            type='mmvit.MobileViTv2', arch=arch, out_indices=range(5)),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='mmvit.DropoutLinearClsHead',
            num_classes=1000,
            in_channels=ARCH_SETTINGS[arch]['stages'][-1].out_channels,
            dropout_rate=0.))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg).eval()


@pytest.mark.parametrize('arch', ARCHS)
def test_features_and_logits_match_timm(arch):
    reference = timm_model(arch)
    state_dict = timm_v2_to_mmvit(reference.state_dict())
    model = mmvit_classifier(arch)
    model.load_state_dict(state_dict, strict=True)
    rgb = torch.rand(2, 3, *SIZE, generator=torch_generator(12))
    with torch.no_grad():
        ref_feats = reference.forward_intermediates(
            rgb, indices=5, intermediates_only=True)
        ref_logits = reference(rgb)
        feats = model.backbone(rgb.flip(1))  # mmvit's models take BGR
        logits = model.head.fc(model.neck(feats)[-1])
    assert len(feats) == len(ref_feats) == 5
    for i, (out, ref) in enumerate(zip(feats, ref_feats)):
        assert_close(out, ref, what=f'{arch} stage {i}')
    assert_close(logits, ref_logits, what=f'{arch} logits')
    assert_same_top(logits, ref_logits, k=5)


def test_rgb_kept_when_asked_and_backbone_only():
    reference = timm_model('0.5')
    source = {
        k: v
        for k, v in reference.state_dict().items() if not k.startswith('head.')
    }
    state_dict = timm_v2_to_mmvit(source, arch='0.5', rgb_to_bgr=False)
    assert not any(k.startswith('backbone.') for k in state_dict)
    from mmvit.models.backbones import MobileViTv2
    model = MobileViTv2('0.5', out_indices=range(5)).eval()
    model.load_state_dict(state_dict, strict=True)
    rgb = torch.rand(1, 3, 64, 64, generator=torch_generator(13))
    with torch.no_grad():
        expected = reference.forward_intermediates(
            rgb, indices=5, intermediates_only=True)
        assert_close(model(rgb), expected)
    # the default reverses the stem's input channels, nothing else
    flipped = timm_v2_to_mmvit(source)
    assert torch.equal(flipped['stem.conv.weight'],
                       state_dict['stem.conv.weight'].flip(1))
    assert all(
        torch.equal(flipped[k], v) for k, v in state_dict.items()
        if k != 'stem.conv.weight')


@pytest.mark.parametrize('arch', ARCHS)
def test_width_is_read_off_the_checkpoint(arch):
    dim = ARCH_SETTINGS[arch]['stages'][-1].embed_dims
    marker = 'stages.4.1.transformer.0.attn.qkv_proj.weight'
    assert MARKER.search(marker)
    assert arch_of({marker: torch.empty(2 * dim + 1, dim, 1, 1)}) == arch


def test_clear_errors():
    source = timm_model('0.5').state_dict()
    with pytest.raises(
            ValueError,
            match=r"expected MobileViTv2 '1.0', but "
            r"the checkpoint is MobileViTv2 '0.5'"):
        timm_v2_to_mmvit(source, arch='1.0')
    # timm's MobileViT v1 has no `qkv_proj`
    v1 = timm.create_model('mobilevit_xxs').state_dict()
    with pytest.raises(ValueError, match='not a timm MobileViTv2 checkpoint'):
        timm_v2_to_mmvit(v1)
    with pytest.raises(ValueError, match='no place in mmvit'):
        timm_v2_to_mmvit({**source, 'stages.2.1.extra.weight': torch.ones(1)})
    with pytest.raises(ValueError, match='timm has no MobileViTv2 detector'):
        rules('detector')
    with pytest.raises(ValueError, match='no released MobileViTv2 width'):
        arch_of({
            'stages.4.1.transformer.0.attn.qkv_proj.weight':
            torch.empty(201, 100, 1, 1)
        })
