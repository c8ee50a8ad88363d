"""The host post-processing that every runtime's outputs go through equals
the toolboxes' own predict: mmdet's detections on planted head outputs (no
near-ties), and on random weights with both candidate rules; mmseg's and
mmpretrain's post-processing on the same logits."""
import copy

import pytest
import torch
from numerics import assert_close
from runtime_cases import SIZE, build_case, images

import planted
from mmvit.deployment.postprocess import to_data_samples

DET = ('detector',
       'ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py', {})


@pytest.fixture(scope='module')
def detector():
    return build_case(*DET)


def _meta(scale: float):
    # the image was resized from an original `scale` times the input size
    ori = (int(SIZE * scale), int(SIZE * scale))
    return dict(img_shape=(SIZE, SIZE), ori_shape=ori,
                scale_factor=(1 / scale, 1 / scale))


def _compare(model, wrapper, inputs, scale):
    from mmdet.structures import DetDataSample
    with torch.no_grad():
        outputs = wrapper(inputs)
        expected = model.predict(
            wrapper.preprocess(inputs), [DetDataSample(metainfo=_meta(scale))],
            rescale=True)[0].pred_instances
    got = to_data_samples('detector', model, outputs,
                          [DetDataSample(metainfo=_meta(scale))],
                          wrapper.level_sizes)[0].pred_instances
    assert len(got) == len(expected)
    assert torch.equal(got.labels, expected.labels)
    assert_close(got.scores, expected.scores, what='scores')
    assert_close(got.bboxes, expected.bboxes, what='boxes')
    return got


def test_detections_equal_mmdet_predict_planted(detector, monkeypatch):
    model, wrapper = copy.deepcopy(detector)
    head = model.bbox_head
    monkeypatch.setattr(type(head), 'forward', planted.planted_forward)
    got = _compare(model, wrapper, images(1, offset=3), scale=2.5)
    featmap_sizes = planted.featmap_sizes(model, (SIZE, SIZE))
    boxes, scores, labels = planted.expected_detections(head, featmap_sizes)
    assert torch.equal(got.labels, labels)
    assert_close(got.scores, scores)
    assert_close(got.bboxes, boxes * 2.5)  # rescaled to the original


@pytest.mark.parametrize('per_class', [3, None])
def test_detections_follow_both_candidate_rules(detector, per_class):
    """Random weights, score_thr 0: SSDLiteHead's per-class top-k and
    mmdet's per-level nms_pre pick the same candidates here and there."""
    model, wrapper = copy.deepcopy(detector)
    cfg = model.bbox_head.test_cfg
    cfg.nms_pre_per_class, cfg.nms_pre, cfg.score_thr = per_class, 40, 0.
    wrapper.model.bbox_head.test_cfg = cfg
    got = _compare(model, wrapper, images(1, offset=4), scale=1.)
    assert len(got) > 0


def test_segmentor_and_classifier_use_the_toolboxes_code():
    from mmpretrain.structures import DataSample
    from mmseg.structures import SegDataSample
    model, wrapper = build_case(
        'segmentor', 'deeplabv3_mobilevit/'
        'deeplabv3_mobilevit-xxs-d16_1xb8-2e_shapes-256x256.py', {})
    meta = dict(img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE),
                padding_size=[0, 0, 0, 0])
    inputs = images(1)
    with torch.no_grad():
        logits, _ = wrapper(inputs)
        expected = model.predict(wrapper.preprocess(inputs),
                                 [SegDataSample(metainfo=meta)])[0]
    got = to_data_samples('segmentor', model, [logits.numpy()],
                          [SegDataSample(metainfo=meta)])[0]
    assert_close(got.seg_logits.data, expected.seg_logits.data)
    assert (got.pred_sem_seg.data != expected.pred_sem_seg.data).float() \
        .mean() <= 1e-3

    model, wrapper = build_case(
        'classifier', 'mobilevit/mobilevit-xxsmall_1xb32_shapes.py', {})
    with torch.no_grad():
        logits = wrapper(inputs)
        expected = model.predict(wrapper.preprocess(inputs), [DataSample()])[0]
    got = to_data_samples('classifier', model, [logits], [DataSample()])[0]
    assert_close(got.pred_score, expected.pred_score)
    assert torch.equal(got.pred_label, expected.pred_label)
