"""switch_to_deploy: BatchNorm folding for the backbone, SSDLite, DeepLabv3."""
import copy
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.registry import DefaultScope
from torch.nn.modules.batchnorm import _BatchNorm

from conftest import parsed_config, randomize_norms, set_norm
from numerics import assert_close

from mmvit.deployment import fold_conv_bn, switch_to_deploy
from mmvit.models.backbones import MobileViT

CONFIG_DIR = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')


def num_bn(model: nn.Module) -> int:
    return sum(isinstance(m, _BatchNorm) for m in model.modules())


def bn_calls(model: nn.Module, *inputs) -> int:
    """How many BatchNorm modules run during ``model(*inputs)``."""
    calls = []
    handles = [
        m.register_forward_hook(lambda *args: calls.append(1))
        for m in model.modules() if isinstance(m, _BatchNorm)
    ]
    with torch.no_grad():
        model(*inputs)
    for handle in handles:
        handle.remove()
    return len(calls)


def build_from_config(name: str, registry) -> nn.Module:
    cfg = parsed_config(osp.join(CONFIG_DIR, name))
    set_norm(cfg.model, dict(type='BN'))
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = registry.build(cfg.model)  # no init_weights: no checkpoint
    return randomize_norms(model).eval()


# ------------------------------------------------------------- backbone
@pytest.mark.parametrize('arch', ['small', 'x_small', 'xx_small'])
def test_backbone_parity_and_no_bn_left(arch):
    model = randomize_norms(
        MobileViT(arch=arch, out_indices=(0, 1, 2, 3, 4, 5))).eval()
    x = torch.randn(2, 3, 96, 128)
    assert bn_calls(model, x) > 0
    with torch.no_grad():
        expected = model(x)
    fused = switch_to_deploy(copy.deepcopy(model))
    assert num_bn(fused) == 0 and bn_calls(fused, x) == 0
    with torch.no_grad():
        assert_close(fused(x), expected)
    # the unfused model is untouched and keeps its checkpoint layout
    assert num_bn(model) > 0
    assert 'stem.bn.running_var' in model.state_dict()


def test_backbone_idempotent_and_channels_last():
    model = randomize_norms(MobileViT(arch='xx_small', out_indices=(2, 4)))
    x = torch.randn(1, 3, 64, 80)
    model.eval()
    with torch.no_grad():
        expected = model(x)
    fused = switch_to_deploy(copy.deepcopy(model))
    state = {k: v.clone() for k, v in fused.state_dict().items()}
    assert switch_to_deploy(fused) is fused  # a second call changes nothing
    assert state.keys() == fused.state_dict().keys()
    for key, value in fused.state_dict().items():
        assert torch.equal(value, state[key]), key

    fast = switch_to_deploy(copy.deepcopy(model), channels_last=True)
    assert fast.stem.conv.weight.is_contiguous(
        memory_format=torch.channels_last)
    with torch.no_grad():
        assert_close(fast(x), expected)
        x_cl = x.contiguous(memory_format=torch.channels_last)
        assert_close(fast(x_cl), expected)


def test_switch_to_deploy_sets_eval_mode():
    model = MobileViT(arch='xx_small').train()
    assert switch_to_deploy(model) is model
    assert not any(m.training for m in model.modules())


def test_fold_conv_bn_with_bias_groups_and_no_affine():
    conv = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=4, bias=True)
    bn = nn.BatchNorm2d(8, affine=False)
    randomize_norms(bn).eval()
    x = torch.randn(2, 8, 9, 9)
    with torch.no_grad():
        expected = bn(conv(x))
        assert_close(fold_conv_bn(conv, bn)(x), expected)


def test_sequential_pairs_are_folded_other_bns_are_kept():
    model = nn.Sequential(
        nn.BatchNorm2d(3),  # follows no conv: kept
        nn.Conv2d(3, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),  # folded
        nn.ReLU(),
        nn.Conv2d(8, 4, 1),
        nn.BatchNorm2d(4, track_running_stats=False),  # batch stats: kept
    )
    randomize_norms(model).eval()
    # a pre-activation ConvModule (norm before conv) is left alone too
    preact = ConvModule(
        4, 4, 1, norm_cfg=dict(type='BN'), order=('norm', 'act', 'conv'))
    model.append(randomize_norms(preact).eval())
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        expected = model(x)
        switch_to_deploy(model)
        assert_close(model(x), expected)
    assert isinstance(model[2], nn.Identity)
    assert isinstance(model[0], nn.BatchNorm2d)
    assert isinstance(model[5], nn.BatchNorm2d)
    assert preact.with_norm and isinstance(preact.norm, nn.BatchNorm2d)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(TypeError, match='expects an nn.Module'):
        switch_to_deploy({'state_dict': {}})
    with pytest.raises(TypeError, match='channels_last must be a bool'):
        switch_to_deploy(nn.Conv2d(1, 1, 1), channels_last='yes')
    with pytest.raises(ValueError, match='cannot fold BatchNorm2d'):
        fold_conv_bn(nn.Conv2d(3, 8, 1), nn.BatchNorm2d(4))


# ------------------------------------------------------ detector (mmdet)
@pytest.mark.parametrize('config', [
    'ssdlite_mobilevit/ssdlite_mobilevit-xxs_4xb32-200e_coco.py',
    'ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py',
])
def test_ssdlite_detector_parity_and_predict(config):
    pytest.importorskip('mmdet')
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    model = build_from_config(config, MODELS)
    size = 128
    x = torch.rand(1, 3, size, size)
    with torch.no_grad():
        expected = model._forward(x)  # (cls_scores, bbox_preds) per level
    fused = switch_to_deploy(copy.deepcopy(model), channels_last=True)
    assert num_bn(fused) == 0 and bn_calls(fused, x) == 0
    with torch.no_grad():
        assert_close(fused._forward(x), expected)
        sample = DetDataSample(
            metainfo=dict(
                img_shape=(size, size),
                ori_shape=(size, size),
                pad_shape=(size, size),
                scale_factor=(1., 1.),
                batch_input_shape=(size, size)))
        (result, ) = fused.predict(x, [sample])
    assert result.pred_instances.bboxes.shape[1] == 4


# --------------------------------------------------- segmentor (mmseg)
@pytest.mark.parametrize('config', [
    'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_4xb32-50e_voc12aug-512x512.py',
    'deeplabv3_mobilevit/deeplabv3-aspp512_mobilevit-s-d8_4xb16-accum2-50e_voc12aug-coco-512x512.py',
])
def test_deeplabv3_segmentor_parity_and_test_step(config):
    pytest.importorskip('mmseg')
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    model = build_from_config(config, MODELS)
    x = torch.rand(1, 3, 96, 96)
    with torch.no_grad():
        expected = model._forward(x)  # decode head logits
    fused = switch_to_deploy(copy.deepcopy(model))
    assert num_bn(fused) == 0 and bn_calls(fused, x) == 0
    with torch.no_grad():
        assert_close(fused._forward(x), expected)
        image = torch.randint(0, 256, (3, 75, 90), dtype=torch.uint8)
        sample = SegDataSample(
            metainfo=dict(img_shape=(75, 90), ori_shape=(75, 90)))
        data = dict(inputs=[image], data_samples=[sample])
        (pred, ) = fused.test_step(data)
        (ref, ) = model.test_step(data)
    assert pred.pred_sem_seg.data.shape == (1, 75, 90)
    assert_close(pred.seg_logits.data, ref.seg_logits.data)


# ------------------------------------------------- channels-last layers
@pytest.mark.parametrize('shape', [(2, 5, 8, 12), (1, 3, 7, 9), (1, 4, 1, 1)])
def test_unfold_fold_channels_last_same_values(shape):
    from mmvit.models.layers import fold_patches, unfold_patches
    x = torch.randn(shape)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    tokens, info = unfold_patches(x, 2)
    tokens_cl, info_cl = unfold_patches(x_cl, 2)
    assert torch.equal(tokens_cl, tokens)
    folded, folded_cl = fold_patches(tokens,
                                     info), fold_patches(tokens_cl, info_cl)
    assert folded.shape == folded_cl.shape == shape
    assert_close(folded_cl, folded)
    if shape[-1] % 2 == 0 and shape[-2] % 2 == 0:
        assert torch.equal(folded, x) and torch.equal(folded_cl, x)
        if shape[1] > 1 and shape[-1] > 1:
            assert info_cl['channels_last'] and folded_cl.is_contiguous(
                memory_format=torch.channels_last)
