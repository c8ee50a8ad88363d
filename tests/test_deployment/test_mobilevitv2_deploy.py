"""MobileViTv2 deployment: BatchNorm folding (``switch_to_deploy``) of the
backbone, the SSDLite detector and the DeepLabv3 segmentor with unchanged
outputs (the GroupNorms of the attention part stay: they normalise with
per-image statistics, which no convolution can absorb), and ONNX export of
the backbone: onnxruntime gives PyTorch's outputs, ranks stay <= 5."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn as nn
from conftest import (REPO_ROOT, parsed_config, randomize_group_norms,
                      randomize_norms, set_norm, torch_generator)
from mmengine.registry import DefaultScope
from numerics import assert_close
from torch.nn.modules.batchnorm import _BatchNorm

from mmvit.deployment import (BackboneExportWrapper, export_onnx,
                              max_tensor_rank, switch_to_deploy)
from mmvit.models.backbones import MobileViTv2

MODELS_DIR = osp.join(REPO_ROOT, 'configs', '_base_', 'models')


def count(model: nn.Module, kind) -> int:
    return sum(isinstance(m, kind) for m in model.modules())


def backbone(arch: str = '0.5', **kwargs) -> nn.Module:
    model = MobileViTv2(arch, **kwargs)
    randomize_norms(model, offset=20)
    return randomize_group_norms(model, offset=21).eval()


@pytest.mark.parametrize('arch,out_stride', [('0.5', 32), ('1.0', 16)])
def test_backbone_parity_no_bn_left(arch, out_stride):
    model = backbone(arch, out_indices=range(5), out_stride=out_stride)
    x = torch.rand(2, 3, 80, 72, generator=torch_generator(22))
    with torch.no_grad():
        expected = model(x)
    num_group_norms = count(model, nn.GroupNorm)
    fused = switch_to_deploy(copy.deepcopy(model))
    assert count(fused, _BatchNorm) == 0
    assert count(fused, nn.GroupNorm) == num_group_norms == 2 * 9 + 3
    with torch.no_grad():
        assert_close(fused(x), expected)
    again = switch_to_deploy(fused)  # a no-op the second time
    with torch.no_grad():
        assert_close(again(x), expected)


def test_backbone_channels_last_parity():
    model = backbone('0.75', out_indices=(2, 3, 4))
    x = torch.rand(1, 3, 96, 64, generator=torch_generator(23))
    with torch.no_grad():
        expected = model(x)
        fused = switch_to_deploy(copy.deepcopy(model), channels_last=True)
        assert_close(fused(x), expected)


def _build(name: str, scope: str) -> nn.Module:
    import importlib
    importlib.import_module(f'{scope}.utils').register_all_modules(
        init_default_scope=False)
    registry = importlib.import_module(f'{scope}.registry').MODELS
    cfg = parsed_config(osp.join(MODELS_DIR, name))
    cfg.model.backbone.arch = '0.5'  # the smallest width; channels follow
    c4, c5 = MobileViTv2.arch_out_channels('0.5', (3, 4))
    if scope == 'mmdet':
        cfg.model.neck.in_channels = (c4, c5)
        cfg.model.bbox_head.in_channels = (c4, c5, 256, 128, 128, 64)
    else:
        cfg.model.decode_head.in_channels = c5
        cfg.model.auxiliary_head.in_channels = c4
    set_norm(cfg.model, dict(type='BN'))
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(cfg.model)
    randomize_norms(model, offset=24)
    return randomize_group_norms(model, offset=25).eval()


@pytest.mark.parametrize('name,scope', [
    ('ssdlite_mobilevitv2.py', 'mmdet'),
    ('deeplabv3_mobilevitv2-d16.py', 'mmseg'),
])
def test_detector_and_segmentor_parity(name, scope):
    pytest.importorskip(scope)
    model = _build(name, scope)
    x = torch.rand(2, 3, 96, 96, generator=torch_generator(26))
    with torch.no_grad():
        expected = model._forward(x)
    fused = switch_to_deploy(copy.deepcopy(model))
    assert count(fused, _BatchNorm) == 0
    with torch.no_grad():
        assert_close(fused._forward(x), expected)


def test_onnx_export_parity_and_rank(tmp_path):
    pytest.importorskip('onnxscript')
    ort = pytest.importorskip('onnxruntime')
    import onnx
    model = backbone('0.5', out_indices=(2, 3, 4))
    wrapper = BackboneExportWrapper(model).eval()
    exported = switch_to_deploy(copy.deepcopy(wrapper))
    # 96x96: the stride-32 map is 3x3, so the last block's resize to 4x4
    # (bilinear, align_corners=True) is in the graph
    path = export_onnx(exported, str(tmp_path / 'mobilevitv2.onnx'), (96, 96))
    graph = onnx.load(path)
    onnx.checker.check_model(graph)
    assert max_tensor_rank(graph) <= 5
    assert 'Resize' in {node.op_type for node in graph.graph.node}
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    name = session.get_inputs()[0].name
    for batch in (1, 3):  # exported with two images: the batch is dynamic
        x = torch.rand(
            batch, 3, 96, 96, generator=torch_generator(27 + batch)) * 255
        with torch.no_grad():
            expected = wrapper(x)
        actual = session.run(None, {name: x.numpy()})
        assert [a.shape for a in actual] == [(batch, 128, 12, 12),
                                             (batch, 192, 6, 6),
                                             (batch, 256, 4, 4)]
        assert_close([torch.from_numpy(np.asarray(a)) for a in actual],
                     expected,
                     what=f'batch {batch}')


def test_channels_last_deploy_runs_nhwc_end_to_end():
    """Under ``channels_last=True`` every 4-D weight (the attention
    layers' 1x1 convs too) and every stage output is NHWC: the v2 blocks
    attend over the map in place, so no layer converts the layout back.
    Same values."""
    import copy

    import torch

    from mmvit.deployment import switch_to_deploy
    from mmvit.models import MobileViTv2
    from mmvit.models.layers import SeparableTransformerLayer
    model = MobileViTv2('0.5', out_indices=(0, 1, 2, 3, 4)).eval()
    deployed = switch_to_deploy(copy.deepcopy(model), channels_last=True)
    layers = [
        m for m in deployed.modules()
        if isinstance(m, SeparableTransformerLayer)
    ]
    assert layers
    weights = [p for p in deployed.parameters() if p.dim() == 4]
    assert all(
        p.is_contiguous(memory_format=torch.channels_last) for p in weights)
    qkv = layers[0].attn.qkv_proj.weight  # [1 + 2d, d, 1, 1]
    assert qkv.is_contiguous(memory_format=torch.channels_last)
    x = torch.rand(1, 3, 96, 96)
    with torch.no_grad():
        refs, outs = model(x), deployed(x)
    for ref, out in zip(refs, outs):
        assert out.is_contiguous(memory_format=torch.channels_last)
        assert (ref - out).abs().max() <= 1e-4 * ref.abs().max()


@pytest.mark.slow
@pytest.mark.parametrize('name,scope,task', [
    ('ssdlite_mobilevitv2.py', 'mmdet', 'detector'),
    ('deeplabv3_mobilevitv2-d16.py', 'mmseg', 'segmentor'),
])
def test_detector_and_segmentor_onnx_parity(tmp_path, name, scope, task):
    """SSDLite- and DeepLabv3-MobileViTv2 (width 0.5, BN folded) export with
    onnxruntime outputs equal to PyTorch's and no tensor of rank > 5."""
    pytest.importorskip(scope)
    pytest.importorskip('onnxscript')
    pytest.importorskip('onnxruntime')
    from mmvit.deployment import output_diffs, wrap_model
    size = (128, 128)
    wrapper = switch_to_deploy(wrap_model(_build(name, scope), task, size))
    path = export_onnx(wrapper, str(tmp_path / f'{task}.onnx'), size)
    assert max_tensor_rank(path) <= 5
    images = torch.rand(2, 3, *size, generator=torch_generator(27)) * 255
    diffs = output_diffs(wrapper, path, images)
    # float outputs (boxes and scores, logits), relative to their magnitude
    for _, relative in diffs[:2 if task == 'detector' else 1]:
        assert relative <= 1e-4
    if task == 'segmentor':  # labels: equal wherever the argmax is clear
        from mmvit.deployment import run_onnxruntime
        _, labels = run_onnxruntime(path, images)
        with torch.no_grad():
            logits, expected = (t.numpy() for t in wrapper(images))
        top2 = np.sort(logits, axis=1)[:, -2:]
        clear = (top2[:, 1] - top2[:, 0]) > 2e-4 * np.abs(logits).max()
        assert clear.mean() > 0.9  # the check is not vacuous
        assert (labels == expected)[clear].all()
