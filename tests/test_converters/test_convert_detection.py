"""ml-cvnets SSDLite checkpoints (``ssd_mobilevit_*_320.pt``) convert to
mmvit's mmdet detector (``configs/ssdlite_mobilevit-*_4xb32-200e_coco.py``).

No public implementation of cvnets' SSD layout is installed, so there is no
independent reference network here: a randomly initialised mmvit detector is
written out in the cvnets layout by ``mmvit_to_cvnets`` (checked key by key
and shape by shape against the released checkpoints' module names, and for
the encoder against transformers' cvnets -> HF rename logic), converted back
by the tool, and must give the same outputs. The split of cvnets' combined
box + class predictor (background first) into mmdet's class conv
(background last) and box conv is checked by hand on a tiny example.
"""
import os.path as osp

import pytest
import torch
from conftest import SEED, load_tool, torch_generator
from numerics import assert_close, relative_error
# helpers shared with the classification tests (skips this module as well
# when mmpretrain, timm or transformers are missing)
from test_convert_classification import (ARCHS, BN_KEYS, HF_SIZES, REPO_ROOT,
                                         build_from_config,
                                         cvnets_backbone_keys,
                                         hf_cvnets_converter, load_converted,
                                         make_hf, randomize_,
                                         single_thread)

from mmvit.converters import merge_box_cls, mmvit_to_cvnets, split_box_cls

pytest.importorskip('mmdet')

__all__ = ['single_thread']  # a module-wide fixture, used by being here

DET_CONFIGS = {
    'small': 'ssdlite_mobilevit/ssdlite_mobilevit-s_4xb32-200e_coco.py',
    'x_small': 'ssdlite_mobilevit/ssdlite_mobilevit-xs_4xb32-200e_coco.py',
    'xx_small': 'ssdlite_mobilevit/ssdlite_mobilevit-xxs_4xb32-200e_coco.py',
}
ANCHORS = (6, 6, 6, 6, 6, 4)
PROJ_LEVELS = (0, 1)  # levels whose 1x1 projection changes the width


def cvnets_ssd_head_keys() -> list:
    """Keys of cvnets' SSDLite extra layers and heads."""
    keys = []

    def conv(name, norm=True, bias=False):
        keys.append(f'{name}.block.conv.weight')
        if bias:
            keys.append(f'{name}.block.conv.bias')
        if norm:
            keys.extend(f'{name}.block.norm.{k}' for k in BN_KEYS)

    for os in (64, 128, 256):
        conv(f'extra_layers.os_{os}.dw_conv')
        conv(f'extra_layers.os_{os}.pw_conv')
    keys.append('extra_layers.os_-1.1.block.conv.weight')
    for level in range(5):
        if level in PROJ_LEVELS:
            conv(f'ssd_heads.{level}.proj_layer')
        conv(f'ssd_heads.{level}.loc_cls_layer.dw_conv')
        conv(f'ssd_heads.{level}.loc_cls_layer.pw_conv', norm=False, bias=True)
    conv('ssd_heads.5.loc_cls_layer', norm=False, bias=True)
    return keys


def det_config(arch):
    return osp.join(REPO_ROOT, 'configs', DET_CONFIGS[arch])


def head_outputs(model, x):
    with torch.no_grad():
        return model.bbox_head.forward(model.neck(model.backbone(x)))


@pytest.fixture(scope='module')
def tool():
    return load_tool('model_converters/mobilevit2mmvit.py')


def test_split_box_cls_by_hand():
    # 2 anchors x (4 box + background + 2 classes) = 14 outputs
    weight = torch.arange(14.).reshape(14, 1, 1, 1)
    cls, reg = split_box_cls(weight, num_anchors=2)
    # anchor 0: box 0-3, background 4, classes 5, 6; anchor 1: 7-10, 11, 12-13
    assert cls.flatten().tolist() == [5., 6., 4., 12., 13., 11.]
    assert reg.flatten().tolist() == [0., 1., 2., 3., 7., 8., 9., 10.]
    assert cls.shape == (6, 1, 1, 1) and reg.shape == (8, 1, 1, 1)
    bias = torch.arange(14.)
    cls_b, reg_b = split_box_cls(bias, num_anchors=2)
    assert cls_b.tolist() == [5., 6., 4., 12., 13., 11.]
    assert torch.equal(merge_box_cls(cls, reg), weight)
    assert torch.equal(merge_box_cls(cls_b, reg_b), bias)
    with pytest.raises(ValueError, match='cannot hold 4 anchors'):
        split_box_cls(bias, num_anchors=4)


def test_split_keeps_class_probabilities():
    """cvnets softmax over [bg, c1, c2] per anchor == mmdet softmax over
    [c1, c2, bg] of the split conv, for the same feature."""
    torch.manual_seed(SEED)
    weight, bias = torch.randn(14, 8, 1, 1), torch.randn(14)
    feat = torch.randn(1, 8, 3, 3)
    combined = torch.nn.functional.conv2d(feat, weight, bias)
    # cvnets: [B, A*(4+C), H, W] -> [B, H*W*A, 4+C], split [4 | C]
    combined = combined.permute(0, 2, 3, 1).reshape(1, -1, 7)
    cv_boxes, cv_scores = combined[..., :4], combined[..., 4:].softmax(-1)

    cls_w, reg_w = split_box_cls(weight, 2)
    cls_b, reg_b = split_box_cls(bias, 2)
    # mmdet SSDHead: cls [B, A*(C+1), H, W] -> [B*H*W*A, C+1]
    scores = torch.nn.functional.conv2d(feat, cls_w, cls_b)
    scores = scores.permute(0, 2, 3, 1).reshape(-1, 3).softmax(-1)
    boxes = torch.nn.functional.conv2d(feat, reg_w, reg_b)
    boxes = boxes.permute(0, 2, 3, 1).reshape(-1, 4)
    assert_close(boxes, cv_boxes[0])
    assert_close(scores[:, :2], cv_scores[0, :, 1:])  # classes
    assert_close(scores[:, 2], cv_scores[0, :, 0])  # background


@pytest.mark.parametrize('arch', ARCHS)
def test_cvnets_ssdlite_round_trip(arch, tool, tmp_path):
    from transformers import MobileViTConfig, MobileViTModel
    detector = randomize_(build_from_config(det_config(arch)), seed=7)
    state = mmvit_to_cvnets(detector.state_dict())

    # 1. the layout of the released checkpoints, names and shapes
    encoder_keys = [f'encoder.{k}' for k in cvnets_backbone_keys(False)]
    expected = encoder_keys + cvnets_ssd_head_keys()
    assert len(state) == len(expected)
    assert sorted(state) == sorted(expected)
    for level, anchors in enumerate(ANCHORS):
        layer = ('pw_conv.block.conv' if level < 5 else 'block.conv')
        weight = state[f'ssd_heads.{level}.loc_cls_layer.{layer}.weight']
        assert weight.shape[0] == anchors * (4 + 81)
    # 2. the encoder part is what transformers' cvnets -> HF logic reads
    hf_backbone = MobileViTModel(
        MobileViTConfig(**HF_SIZES[arch]), expand_output=False)
    encoder = {k: v for k, v in state.items() if k.startswith('encoder.')}
    hf_state = hf_cvnets_converter().convert_state_dict(
        dict(encoder), hf_backbone, base_model=True)
    hf_backbone.load_state_dict(hf_state, strict=True)

    # 3. converting the cvnets layout back gives the same detector
    src, dst = tmp_path / f'ssd_mobilevit_{arch}_320.pt', tmp_path / 'o.pth'
    torch.save(state, src)
    tool.main([str(src), str(dst)])
    meta = torch.load(dst, weights_only=True)['meta']
    assert (meta['format'], meta['arch'], meta['task']) == ('cvnets', arch,
                                                            'detector')
    restored = load_converted(build_from_config(det_config(arch)), str(dst))
    x = torch.rand(1, 3, 192, 192, generator=torch_generator(2))
    (cls_a, reg_a), (cls_b, reg_b) = (head_outputs(detector, x),
                                      head_outputs(restored, x))
    print(f'cvnets ssdlite {arch}: relative output error '
          f'{relative_error(cls_a + reg_a, cls_b + reg_b):.2e}')
    assert_close(cls_a, cls_b, what='class scores')
    assert_close(reg_a, reg_b, what='box deltas')
    # and HF's encoder, fed the same `encoder.*` weights, agrees with ours
    with torch.no_grad():
        hf_out = hf_backbone.eval()(x).last_hidden_state
        ours = restored.backbone(x)[-1]
    assert_close(ours, hf_out, what='HF encoder')


def test_cvnets_ssdlite_predictions(tool, tmp_path):
    """Whole-detector predictions (anchors, decoding, NMS) agree too."""
    from mmdet.structures import DetDataSample
    detector = randomize_(build_from_config(det_config('xx_small')), seed=9)
    src, dst = tmp_path / 'ssd.pt', tmp_path / 'o.pth'
    torch.save(mmvit_to_cvnets(detector.state_dict()), src)
    tool.main([str(src), str(dst), '--num-anchors', *map(str, ANCHORS)])
    restored = load_converted(
        build_from_config(det_config('xx_small')), str(dst))
    x = torch.rand(1, 3, 320, 320, generator=torch_generator(4))
    meta = dict(
        img_shape=(320, 320), ori_shape=(320, 320), scale_factor=(1., 1.))
    # the round trip restores every weight bit for bit, so the two models
    # compute the same bits and NMS makes the same choices (no near-tie
    # can resolve differently): the predictions are equal, not just close
    restored_state = restored.state_dict()
    for key, value in detector.state_dict().items():
        assert torch.equal(value, restored_state[key]), key
    results = []
    for model in (detector, restored):
        sample = DetDataSample(metainfo=meta)
        with torch.no_grad():
            results.append(model.predict(x, [sample])[0].pred_instances)
    assert len(results[0]) > 0
    assert torch.equal(results[0].bboxes, results[1].bboxes)
    assert torch.equal(results[0].scores, results[1].scores)
    assert torch.equal(results[0].labels, results[1].labels)


def test_wrong_anchor_count_is_refused(tool, tmp_path):
    detector = build_from_config(det_config('xx_small'))
    src = tmp_path / 'ssd.pt'
    torch.save(mmvit_to_cvnets(detector.state_dict()), src)
    with pytest.raises(
            SystemExit, match='SSD level 5: .* cannot hold 6 '
            'anchors'):
        tool.main([
            str(src),
            str(tmp_path / 'o.pth'), '--num-anchors', '6', '6', '6', '6', '6',
            '6'
        ])
    with pytest.raises(SystemExit, match='disagree on the number of classes'):
        tool.main([
            str(src),
            str(tmp_path / 'o.pth'), '--num-anchors', '6', '6', '6', '6', '6',
            '2'
        ])
    with pytest.raises(SystemExit, match='--num-anchors applies to cvnets'):
        hf = tmp_path / 'hf.pt'
        torch.save(make_hf('xx_small').state_dict(), hf)
        tool.main([str(hf), str(tmp_path / 'o.pth'), '--num-anchors', '6'])
