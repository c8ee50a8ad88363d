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
from conftest import load_tool

pytest.importorskip('onnxruntime')
pytest.importorskip('onnxscript')
import onnx  # noqa: E402

from mmvit.deployment import onnx_export, switch_to_deploy  # noqa: E402

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO_ROOT, 'configs')
DET_CFG = osp.join(CONFIGS, 'ssdlite_mobilevit_xxs_shapes.py')
SEG_CFG = osp.join(CONFIGS, 'deeplabv3_mobilevit_xxs_voc.py')
CLS_CFG = osp.join(CONFIGS, 'mobilevit', 'mobilevit-xxsmall_8xb128_in1k.py')
SIZE = 128
TOL = 1e-4


def _images(batch: int, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, SIZE, SIZE, generator=generator) * 255


def _export(tmp_path_factory, name, wrapper, fuse=True):
    """Export ``wrapper`` (a BN-folded copy by default, as the CLI does);
    returns the unfolded wrapper, the reference of the parity checks."""
    path = str(tmp_path_factory.mktemp('onnx') / f'{name}.onnx')
    exported = copy.deepcopy(wrapper)
    if fuse:
        switch_to_deploy(exported)
    onnx_export.export_onnx(exported, path, (SIZE, SIZE))
    return wrapper, path


def _randomize_bn(model: torch.nn.Module) -> None:
    """Non-trivial BN statistics, so that folding or dropping BN shows."""
    generator = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            size = module.num_features
            module.running_mean.copy_(
                torch.randn(size, generator=generator) * 0.1)
            module.running_var.copy_(
                torch.rand(size, generator=generator) + 0.5)
            module.weight.data.copy_(
                torch.rand(size, generator=generator) + 0.5)
            module.bias.data.copy_(
                torch.randn(size, generator=generator) * 0.1)


@pytest.fixture(scope='module')
def backbone_onnx(tmp_path_factory):
    from mmvit.models import MobileViT
    torch.manual_seed(0)
    backbone = MobileViT(arch='xx_small', out_indices=(2, 3, 4))
    _randomize_bn(backbone)
    wrapper = onnx_export.wrap_model(backbone.eval(), 'backbone', (SIZE, SIZE))
    return _export(tmp_path_factory, 'backbone', wrapper)


@pytest.fixture(scope='module')
def detector():
    torch.manual_seed(0)
    model = onnx_export.build_model(DET_CFG)
    _randomize_bn(model)
    return model


@pytest.fixture(scope='module')
def detector_onnx(tmp_path_factory, detector):
    wrapper = onnx_export.wrap_model(detector, 'detector', (SIZE, SIZE))
    return _export(tmp_path_factory, 'detector', wrapper)


@pytest.fixture(scope='module')
def segmentor_onnx(tmp_path_factory):
    torch.manual_seed(0)
    model = onnx_export.build_model(SEG_CFG)
    _randomize_bn(model)
    wrapper = onnx_export.wrap_model(model, 'segmentor', (SIZE, SIZE))
    return _export(tmp_path_factory, 'segmentor', wrapper)


def _check_graph(path: str, num_outputs: int) -> None:
    model = onnx.load(path)
    onnx.checker.check_model(model)
    assert onnx_export.opset_version(model) >= 17
    batch_dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch_dim.dim_param and not batch_dim.dim_value  # dynamic batch
    assert len(model.graph.output) == num_outputs
    assert onnx_export.max_tensor_rank(model) <= 5


def _check_parity(wrapper, path: str) -> None:
    for batch in (1, 3):  # exported with 2 images
        diffs = onnx_export.max_abs_diff(wrapper, path, _images(batch))
        assert max(diffs) <= TOL, (batch, diffs)


@pytest.mark.slow  # the detector and segmentor graphs contain it
def test_backbone(backbone_onnx):
    wrapper, path = backbone_onnx
    _check_graph(path, num_outputs=3)
    _check_parity(wrapper, path)
    outputs = onnx_export.run_onnxruntime(path, _images(3))
    assert [o.shape for o in outputs] == [(3, 48, 16, 16), (3, 64, 8, 8),
                                          (3, 80, 4, 4)]


def test_detector(detector_onnx):
    wrapper, path = detector_onnx
    _check_graph(path, num_outputs=2)
    _check_parity(wrapper, path)
    boxes, scores = onnx_export.run_onnxruntime(path, _images(2))
    num_anchors = wrapper.model.bbox_head.prior_generator \
        .num_priors_at_input_size
    assert boxes.shape == (2, num_anchors, 4)
    assert scores.shape == (2, num_anchors, 3)
    assert boxes.min() >= 0 and boxes.max() <= SIZE  # clipped as mmdet


def test_detector_decode_matches_mmdet(detector):
    """The export decode is mmdet's ``DeltaXYWHBBoxCoder.decode``."""
    wrapper = onnx_export.wrap_model(detector, 'detector', (SIZE, SIZE))
    deltas = torch.randn(1, wrapper.anchors.shape[0], 4)
    expected = detector.bbox_head.bbox_coder.decode(
        wrapper.anchors, deltas[0], max_shape=(SIZE, SIZE))
    torch.testing.assert_close(wrapper.decode(deltas)[0], expected)


def test_segmentor(segmentor_onnx):
    from mmseg.structures import SegDataSample
    wrapper, path = segmentor_onnx
    _check_graph(path, num_outputs=2)
    _check_parity(wrapper, path)
    images = _images(2)
    logits, labels = onnx_export.run_onnxruntime(path, images)
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
    assert np.abs(logits - expected).max() <= TOL
    # argmax agrees wherever the two best classes are not a near tie
    top2 = np.sort(expected, axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > 1e-3
    expected_labels = np.stack(
        [r.pred_sem_seg.data[0].numpy() for r in results])
    assert (labels == expected_labels)[clear].all()


@pytest.mark.slow
def test_detector_nms_matches_mmdet_predict(tmp_path_factory, detector):
    from mmdet.structures import DetDataSample
    detector = copy.deepcopy(detector)
    detector.bbox_head.test_cfg.score_thr = 0.3
    head = detector.bbox_head
    # favour one class so that scores pass the threshold (and NMS has work)
    for conv in head.cls_convs:
        conv.bias.data.view(-1, head.cls_out_channels)[:, 1] += 1.5
    wrapper = onnx_export.wrap_model(
        detector, 'detector', (SIZE, SIZE), with_nms=True)
    # unfolded, so that no near-tie of two scores can flip against predict
    wrapper, path = _export(
        tmp_path_factory, 'detector_nms', wrapper, fuse=False)
    _check_graph(path, num_outputs=2)

    images = _images(2, seed=3)
    dets, labels = onnx_export.run_onnxruntime(path, images)
    max_per_img = head.test_cfg.max_per_img
    assert dets.shape == (2, max_per_img, 5)
    assert labels.shape == (2, max_per_img)

    meta = dict(
        img_shape=(SIZE, SIZE),
        ori_shape=(SIZE, SIZE),
        pad_shape=(SIZE, SIZE),
        scale_factor=(1., 1.))
    samples = [DetDataSample(metainfo=meta) for _ in range(2)]
    with torch.no_grad():
        results = detector.predict(images / 255, samples, rescale=False)
    for i, result in enumerate(results):
        pred = result.pred_instances
        num = len(pred)
        assert 10 < num  # the test exercises NMS
        valid = labels[i] >= 0
        assert valid.sum() == num, (valid.sum(), num)
        np.testing.assert_allclose(
            dets[i, :num, 4], pred.scores.numpy(), atol=1e-5)
        np.testing.assert_allclose(
            dets[i, :num, :4], pred.bboxes.numpy(), atol=1e-3)
        np.testing.assert_array_equal(labels[i, :num], pred.labels.numpy())
        assert (dets[i, num:] == 0).all() and (labels[i, num:] == -1).all()
    # PyTorch's version of the graph (the eager NMS) agrees too
    with torch.no_grad():
        torch_dets, torch_labels = wrapper(images)
    np.testing.assert_allclose(torch_dets.numpy(), dets, atol=1e-3)
    np.testing.assert_array_equal(torch_labels.numpy(), labels)


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
    assert onnx_export.max_tensor_rank(model, limit=None) == 6
    with pytest.raises(ValueError, match='rank > 5'):
        onnx_export.max_tensor_rank(model)


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
        onnx_export.export_onnx(None, out, (SIZE, SIZE), opset=13)
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
    model = onnx_export.build_model(CLS_CFG)
    _randomize_bn(model)
    ckpt = str(tmp_path / 'cls.pth')
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    out = str(tmp_path / 'cls.onnx')
    image = str(tmp_path / 'image.png')
    pixels = np.random.RandomState(0).randint(0, 255, (90, 150, 3), np.uint8)
    assert mmcv.imwrite(pixels, image)
    summary = cli.main([
        CLS_CFG, ckpt, '--out', out, '--shape', '128', '128', '--opset', '17',
        '--verify', '--image', image
    ])
    assert summary['task'] == 'classifier'
    assert summary['opset'] == 17 and summary['max_rank'] <= 5
    assert max(max(d) for d in summary['max_abs_diff'].values()) <= TOL
    logits, = onnx_export.run_onnxruntime(out, _images(2))
    assert logits.shape == (2, 1000)
    assert 'max abs diff' in capsys.readouterr().out


def _readme_export_commands():
    with open(osp.join(REPO_ROOT, 'README.md'), encoding='utf-8') as f:
        lines = f.read().splitlines()
    return [
        shlex.split(line)[2:] for line in lines
        if line.startswith('python tools/deployment/export_onnx.py ')
    ]


@pytest.mark.slow
@pytest.mark.parametrize('argv', _readme_export_commands())
def test_readme_export_command(argv, tmp_path, monkeypatch):
    """README's export commands as written, with a checkpoint of random
    weights (BN statistics too) at the path they name, run from a scratch
    directory."""
    config, checkpoint = argv[0], argv[1]
    monkeypatch.chdir(tmp_path)
    model = onnx_export.build_model(osp.join(REPO_ROOT, config))
    _randomize_bn(model)
    os.makedirs(osp.dirname(checkpoint), exist_ok=True)
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    summary = _load_cli().main([osp.join(REPO_ROOT, config)] + argv[1:])
    assert osp.isfile(argv[argv.index('--out') + 1])
    assert summary['opset'] >= 17 and summary['max_rank'] <= 5
    assert max(max(d) for d in summary['max_abs_diff'].values()) <= TOL
