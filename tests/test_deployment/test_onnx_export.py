"""ONNX export: onnxruntime vs PyTorch at two batch sizes, opset, tensor
ranks, NMS vs mmdet's predict, segmentation vs mmseg's predict, the CLI.

Each model is exported once per module (XXS at 128x128: a dynamo export
takes 10-30 s on two cores). The detector and segmentor exports (which
contain the backbone) run by default; the backbone alone, the NMS export and
the CLI run are ``slow``.
"""
import copy
import os
import os.path as osp
import shlex

import numpy as np
import pytest
import torch
from conftest import (SEED, load_tool, np_rng, parsed_config, randomize_norms,
                      torch_generator)
from doc_helpers import command_lines
from numerics import ARGMAX_FLIP_FRACTION, REL, assert_close

import planted

pytest.importorskip('onnxruntime')
pytest.importorskip('onnxscript')
import onnx  # noqa: E402

from mmvit.apis import build_model  # noqa: E402
from mmvit.deployment import (  # noqa: E402
    export_onnx, max_tensor_rank, opset_version, output_diffs, run_onnxruntime,
    switch_to_deploy, wrap_model)
from mmvit.deployment.wrappers import model_device  # noqa: E402

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO_ROOT, 'configs')
DET_CFG = osp.join(CONFIGS, 'ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py')
SEG_CFG = osp.join(CONFIGS,
                   'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_4xb32-50e_voc12aug-512x512.py')
CLS_CFG = osp.join(CONFIGS, 'mobilevit', 'mobilevit-xxsmall_8xb128_in1k.py')
SIZE = 128


def _images(batch: int, offset: int = 1) -> torch.Tensor:
    return torch.rand(
        batch, 3, SIZE, SIZE, generator=torch_generator(offset)) * 255


def _export(tmp_path_factory, name, wrapper, fuse=True):
    """Export ``wrapper`` (a BN-folded copy by default, as the CLI does);
    returns the unfolded wrapper, the reference of the parity checks."""
    path = str(tmp_path_factory.mktemp('onnx') / f'{name}.onnx')
    exported = copy.deepcopy(wrapper)
    if fuse:
        switch_to_deploy(exported)
    export_onnx(exported, path, (SIZE, SIZE))
    return wrapper, path


@pytest.fixture(scope='module')
def backbone_onnx(tmp_path_factory):
    from mmvit.models import MobileViT
    torch.manual_seed(SEED)
    backbone = MobileViT(arch='xx_small', out_indices=(2, 3, 4))
    randomize_norms(backbone)
    wrapper = wrap_model(backbone.eval(), 'backbone', (SIZE, SIZE))
    return _export(tmp_path_factory, 'backbone', wrapper)


@pytest.fixture(scope='module')
def detector():
    torch.manual_seed(SEED)
    cfg = parsed_config(DET_CFG)
    cfg.model.bbox_head.anchor_generator.input_size = SIZE  # anchors of SIZE
    model = build_model(cfg)
    randomize_norms(model)
    return model


@pytest.fixture(scope='module')
def detector_onnx(tmp_path_factory, detector):
    wrapper = wrap_model(detector, 'detector', (SIZE, SIZE))
    return _export(tmp_path_factory, 'detector', wrapper)


@pytest.fixture(scope='module')
def segmentor_onnx(tmp_path_factory):
    torch.manual_seed(SEED)
    model = build_model(SEG_CFG)
    randomize_norms(model)
    wrapper = wrap_model(model, 'segmentor', (SIZE, SIZE))
    return _export(tmp_path_factory, 'segmentor', wrapper)


def _check_graph(path: str, num_outputs: int) -> None:
    model = onnx.load(path)
    onnx.checker.check_model(model)
    assert opset_version(model) >= 17
    batch_dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch_dim.dim_param and not batch_dim.dim_value  # dynamic batch
    assert len(model.graph.output) == num_outputs
    assert max_tensor_rank(model) <= 5


def _check_parity(wrapper, path: str) -> None:
    for batch in (1, 3):  # exported with 2 images
        images = _images(batch)
        with torch.no_grad():
            expected = wrapper(images)
        actual = run_onnxruntime(path, images)
        assert_close(actual, expected, what=f'batch {batch}')


@pytest.mark.slow  # the detector and segmentor graphs contain it
def test_backbone(backbone_onnx):
    wrapper, path = backbone_onnx
    _check_graph(path, num_outputs=3)
    _check_parity(wrapper, path)
    outputs = run_onnxruntime(path, _images(3))
    assert [o.shape for o in outputs] == [(3, 48, 16, 16), (3, 64, 8, 8),
                                          (3, 80, 4, 4)]


def test_detector(detector_onnx):
    wrapper, path = detector_onnx
    _check_graph(path, num_outputs=2)
    _check_parity(wrapper, path)
    boxes, scores = run_onnxruntime(path, _images(2))
    num_anchors = wrapper.model.bbox_head.prior_generator \
        .num_priors_at_input_size
    assert boxes.shape == (2, num_anchors, 4)
    assert scores.shape == (2, num_anchors, 3)
    assert boxes.min() >= 0 and boxes.max() <= SIZE  # clipped as mmdet


def test_detector_decode_matches_mmdet(detector):
    """The export decode is mmdet's ``DeltaXYWHBBoxCoder.decode``."""
    wrapper = wrap_model(detector, 'detector', (SIZE, SIZE))
    deltas = torch.randn(1, wrapper.anchors.shape[0], 4)
    expected = detector.bbox_head.bbox_coder.decode(
        wrapper.anchors, deltas[0], max_shape=(SIZE, SIZE))
    assert_close(wrapper.decode(deltas)[0], expected)


def test_segmentor(segmentor_onnx):
    from mmseg.structures import SegDataSample
    wrapper, path = segmentor_onnx
    _check_graph(path, num_outputs=2)
    _check_parity(wrapper, path)
    images = _images(2)
    logits, labels = run_onnxruntime(path, images)
    assert logits.shape == (2, 21, SIZE, SIZE)
    assert labels.shape == (2, SIZE, SIZE)
    # mmseg's own inference gives the same logits
    model = wrapper.model
    meta = dict(
        img_shape=(SIZE, SIZE),
        ori_shape=(SIZE, SIZE),
        pad_shape=(SIZE, SIZE),
        padding_size=[0, 0, 0, 0])
    samples = [SegDataSample(metainfo=meta) for _ in range(2)]
    with torch.no_grad():
        results = model.predict(images / 255, samples)
    expected = torch.stack([r.seg_logits.data for r in results]).numpy()
    assert_close(logits, expected)
    # argmax agrees wherever the two best classes are further apart than
    # the two logits can move within the bound
    top2 = np.sort(expected, axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > 2 * REL * np.abs(expected).max()
    assert clear.mean() > 0.9  # the check is not vacuous
    expected_labels = np.stack(
        [r.pred_sem_seg.data[0].numpy() for r in results])
    assert (labels == expected_labels)[clear].all()


def _check_planted(dets, labels, head, featmap_sizes) -> None:
    """``dets [B, K, 5]`` / ``labels [B, K]`` are the planted detections that
    an NMS keeps, best first, then padding."""
    boxes, scores, expected_labels = planted.expected_detections(
        head, featmap_sizes)
    num = len(scores)
    for image_dets, image_labels in zip(dets, labels):
        np.testing.assert_array_equal(image_labels[:num], expected_labels)
        assert_close(image_dets[:num, :4], boxes, what='boxes')
        assert_close(image_dets[:num, 4], scores, what='scores')
        assert (image_dets[num:] == 0).all()
        assert (image_labels[num:] == -1).all()


@pytest.mark.slow
def test_detector_nms_matches_mmdet_predict(tmp_path_factory, detector,
                                            monkeypatch):
    """The NMS graph, its PyTorch model and mmdet's ``predict`` return the
    planted detections (well separated: no near-tie can flip a choice)."""
    from mmdet.structures import DetDataSample
    detector = copy.deepcopy(detector)
    head = detector.bbox_head
    monkeypatch.setattr(type(head), 'forward', planted.planted_forward)
    wrapper = wrap_model(detector, 'detector', (SIZE, SIZE), with_nms=True)
    wrapper, path = _export(tmp_path_factory, 'detector_nms', wrapper)
    _check_graph(path, num_outputs=2)

    images = _images(2, offset=3)
    dets, labels = run_onnxruntime(path, images)
    max_per_img = head.test_cfg.max_per_img
    assert dets.shape == (2, max_per_img, 5)
    assert labels.shape == (2, max_per_img)
    featmap_sizes = planted.featmap_sizes(detector, (SIZE, SIZE))
    _check_planted(dets, labels, head, featmap_sizes)
    # PyTorch's version of the graph (the eager NMS) agrees
    with torch.no_grad():
        _check_planted(*[t.numpy() for t in wrapper(images)], head,
                       featmap_sizes)
    # and so does mmdet's own predict
    meta = dict(
        img_shape=(SIZE, SIZE),
        ori_shape=(SIZE, SIZE),
        pad_shape=(SIZE, SIZE),
        scale_factor=(1., 1.))
    samples = [DetDataSample(metainfo=meta) for _ in range(2)]
    with torch.no_grad():
        results = detector.predict(images / 255, samples, rescale=False)
    for result in results:
        pred = result.pred_instances
        pred_dets = torch.cat([pred.bboxes, pred.scores[:, None]], 1)
        _check_planted(
            pred_dets[None].numpy(), pred.labels[None].numpy(), head,
            featmap_sizes)
    assert len(pred) > 10  # NMS had boxes to keep and boxes to drop


@pytest.mark.parametrize('per_class', [3, None])
def test_wrapper_nms_follows_per_class_top_k(detector, per_class):
    """The NMS the graph carries keeps what mmdet's predict keeps, with
    SSDLiteHead's per-class top-k (cvnets) and with mmdet's per-level
    ``nms_pre`` (random weights: continuous scores, no ties)."""
    from mmdet.structures import DetDataSample
    detector = copy.deepcopy(detector)
    head = detector.bbox_head
    head.test_cfg.nms_pre_per_class = per_class
    head.test_cfg.nms_pre = 40
    head.test_cfg.score_thr = 0.
    wrapper = wrap_model(detector, 'detector', (SIZE, SIZE), with_nms=True)
    images = _images(1, offset=4)
    meta = dict(
        img_shape=(SIZE, SIZE),
        ori_shape=(SIZE, SIZE),
        pad_shape=(SIZE, SIZE),
        scale_factor=(1., 1.))
    with torch.no_grad():
        dets, labels = wrapper(images)
        pred = detector.predict(
            images / 255, [DetDataSample(metainfo=meta)],
            rescale=False)[0].pred_instances
    valid = labels[0] >= 0
    assert int(valid.sum()) == len(pred)
    if per_class is not None:  # at most k per class survive
        assert torch.bincount(pred.labels).max() <= per_class
    order = pred.scores.argsort(descending=True)
    assert torch.equal(labels[0][valid], pred.labels[order])
    assert_close(dets[0][valid, 4], pred.scores[order])
    assert_close(dets[0][valid, :4], pred.bboxes[order])


def test_rank_checker_flags_rank_6(tmp_path):
    from onnx import TensorProto, helper
    shape = helper.make_tensor('shape', TensorProto.INT64, [6],
                               [1, 2, 1, 2, 1, 2])
    graph = helper.make_graph(
        [helper.make_node('Reshape', ['x', 'shape'], ['y'])],
        'g', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, None)],
        initializer=[shape])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid('', 17)])
    assert max_tensor_rank(model, limit=None) == 6
    with pytest.raises(ValueError, match='rank > 5'):
        max_tensor_rank(model)


def _check_verify_summary(summary: dict) -> None:
    """The CLI's ``--verify`` figures are within the suite's bounds."""
    for batch, rels in summary['max_rel_diff'].items():
        for name, rel in zip(summary['outputs'], rels):
            bound = ARGMAX_FLIP_FRACTION if name == 'labels' else REL
            assert rel <= bound, (batch, name, rel)


def _load_cli():
    return load_tool('deployment/export_onnx.py')


def test_cli_rejects_bad_input(tmp_path):
    cli = _load_cli()
    out = str(tmp_path / 'm.onnx')
    with pytest.raises(FileNotFoundError, match='nope.py'):
        cli.main(['nope.py', '--out', out, '--shape', '128', '128'])
    with pytest.raises(ValueError, match='multiples of 32'):
        cli.main([CLS_CFG, '--out', out, '--shape', '128', '100'])
    with pytest.raises(ValueError, match='too small'):
        cli.main([CLS_CFG, '--out', out, '--shape', '32', '32'])
    with pytest.raises(ValueError, match='no bbox_head'):
        cli.main([
            CLS_CFG, '--task', 'detector', '--out', out, '--shape', '128',
            '128'
        ])
    with pytest.raises(ValueError, match='opset'):
        export_onnx(None, out, (SIZE, SIZE), opset=13)
    # an XXS backbone's weights do not fit the S classifier
    from mmvit.models import MobileViT
    ckpt = str(tmp_path / 'xxs.pth')
    state = {
        f'backbone.{k}': v
        for k, v in MobileViT(arch='xx_small').state_dict().items()
    }
    torch.save(dict(state_dict=state), ckpt)
    s_cfg = osp.join(CONFIGS, 'mobilevit', 'mobilevit-small_8xb128_in1k.py')
    with pytest.raises(ValueError, match='does not match'):
        cli.main([s_cfg, ckpt, '--out', out, '--shape', '128', '128'])


@pytest.mark.slow
def test_cli_classifier_end_to_end(tmp_path, capsys):
    """The CLI on a classification config, its own checkpoint, --verify
    on an image file."""
    import mmcv
    cli = _load_cli()
    model = build_model(CLS_CFG)
    randomize_norms(model)
    ckpt = str(tmp_path / 'cls.pth')
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    out = str(tmp_path / 'cls.onnx')
    image = str(tmp_path / 'image.png')
    pixels = np_rng().integers(0, 255, (90, 150, 3), np.uint8)
    assert mmcv.imwrite(pixels, image)
    summary = cli.main([
        CLS_CFG, ckpt, '--out', out, '--shape', '128', '128', '--opset', '17',
        '--verify', '--image', image
    ])
    assert summary['task'] == 'classifier'
    assert summary['opset'] == 17 and summary['max_rank'] <= 5
    _check_verify_summary(summary)
    logits, = run_onnxruntime(out, _images(2))
    assert logits.shape == (2, 1000)
    assert 'logits max abs diff' in capsys.readouterr().out


def _readme_export_commands():
    # docs/en/user_guides/fast_inference.md (wherever the docs keep them)
    return [
        shlex.split(line)[2:]
        for line in command_lines('python tools/deployment/export_onnx.py ')
    ]


@pytest.mark.slow
@pytest.mark.parametrize('argv', _readme_export_commands())
def test_readme_export_command(argv, tmp_path, monkeypatch):
    """The docs' export commands as written, with a checkpoint of random
    weights (BN statistics too) at the path they name, run from a scratch
    directory; an NMS export verifies on planted detections (with random
    weights, near-tied scores could be kept in either order)."""
    from mmvit.models.dense_heads import SSDLiteHead
    config, checkpoint = argv[0], argv[1]
    monkeypatch.chdir(tmp_path)
    with_nms = '--with-nms' in argv
    if with_nms:
        monkeypatch.setattr(SSDLiteHead, 'forward', planted.planted_forward)
    model = build_model(osp.join(REPO_ROOT, config))
    randomize_norms(model)
    os.makedirs(osp.dirname(checkpoint), exist_ok=True)
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    summary = _load_cli().main([osp.join(REPO_ROOT, config)] + argv[1:])
    out = argv[argv.index('--out') + 1]
    assert osp.isfile(out)
    assert summary['opset'] >= 17 and summary['max_rank'] <= 5
    _check_verify_summary(summary)
    if with_nms:
        shape = tuple(int(s) for s in argv[argv.index('--shape') + 1:][:2])
        dets, labels = run_onnxruntime(out, torch.zeros(1, 3, *shape))
        _check_planted(dets, labels, model.bbox_head,
                       planted.featmap_sizes(model, shape))


# ------------------------------------------------ dtypes and devices
def test_half_models_are_rejected_with_the_fix(detector):
    """Export runs in float32: a bf16 model is a clear error naming the
    fix, both when wrapping and when exporting a wrapper."""
    half = copy.deepcopy(detector).bfloat16()
    with pytest.raises(ValueError, match=r'float32.*bfloat16.*\.float\(\)'):
        wrap_model(half, 'detector', (SIZE, SIZE))
    wrapper = wrap_model(copy.deepcopy(detector), 'detector',
                         (SIZE, SIZE)).bfloat16()
    with pytest.raises(ValueError, match=r'float32.*bfloat16.*\.float\(\)'):
        export_onnx(wrapper, 'unused.onnx', (SIZE, SIZE))
    assert model_device(wrapper) == torch.device('cpu')


def test_output_helpers_accept_tensors_that_require_grad(detector_onnx):
    wrapper, path = detector_onnx
    images = _images(2).requires_grad_()
    outputs = run_onnxruntime(path, images)
    assert [o.shape[0] for o in outputs] == [2, 2]
    diffs = output_diffs(wrapper, path, images)
    assert all(relative <= REL for _, relative in diffs), diffs
