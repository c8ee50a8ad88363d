"""mmvit.SSDRandomCrop (ml-cvnets' SSD crop) and mmvit.FilterCrowdBoxes.

Statistical checks compare counts with what the crop rule predicts, within
``Z`` binomial standard errors (a false alarm has probability < 1e-6 per
check, whatever the seed, ``MMVIT_TEST_SEED``).
"""
import copy
import math
import os.path as osp

import numpy as np
import pytest
from conftest import SEED, parsed_config
from mmcv.transforms.utils import cache_random_params
from mmengine.registry import DefaultScope

from mmvit.datasets.transforms import FilterCrowdBoxes, SSDRandomCrop
from mmvit.datasets.transforms.ssd_random_crop import (CVNETS_THRESHOLDS,
                                                       centres_inside,
                                                       crop_ious)
from mmvit.registry import TRANSFORMS

pytest.importorskip('mmdet')
from mmdet.structures.bbox import HorizontalBoxes  # noqa: E402
from mmdet.structures.mask import BitmapMasks  # noqa: E402

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
Z = 5  # standard errors per statistical bound
HEIGHT, WIDTH = 300, 400
# fractional coordinates, as COCO's: no integer crop rectangle equals a box
BOXES = np.array([[20.5, 30.5, 140.5, 200.5], [150.25, 100.75, 380.5, 290.5],
                  [300.5, 10.5, 330.5, 40.5]])
LABELS = np.array([3, 7, 1])
FLAGS = np.array([False, True, False])


def _seed(offset: int) -> None:
    # mmcv's transforms draw from the global numpy state
    np.random.seed((SEED * 1000 + offset) % 2**32)


def _coded_image(height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """Pixel (y, x) holds (x, y, 0): a crop's pixels tell where it was."""
    ys, xs = np.mgrid[:height, :width]
    return np.stack([xs, ys, np.zeros_like(xs)], axis=-1).astype(np.int32)


def _results(boxes=BOXES, as_array: bool = False) -> dict:
    return dict(
        img=_coded_image(),
        img_shape=(HEIGHT, WIDTH),
        img_path='synthetic.jpg',
        gt_bboxes=(boxes.astype(np.float32) if as_array else HorizontalBoxes(
            boxes.astype(np.float32))),
        gt_bboxes_labels=LABELS[:len(boxes)].copy(),
        gt_ignore_flags=FLAGS[:len(boxes)].copy())


def _record_rounds(transform: SSDRandomCrop) -> list:
    """Record ``(threshold, patch or None)`` of every non-zero threshold
    drawn (each one's ``max_trials`` trials)."""
    rounds = []
    try_crops = transform._try_crops

    def recorded(threshold, height, width, boxes):
        patch = try_crops(threshold, height, width, boxes)
        rounds.append((threshold, patch))
        return patch

    transform._try_crops = recorded
    return rounds


def _within(count: int, total: int, p: float, slack: float = 0.) -> bool:
    sigma = math.sqrt(total * p * (1 - p))
    return abs(count - total * p) <= Z * sigma + slack * total


# ------------------------------------------------------------ statistics
def test_thresholds_are_drawn_uniformly_and_every_crop_meets_its_own():
    _seed(1)
    transform = SSDRandomCrop()
    rounds = _record_rounds(transform)
    draws, uncropped = 4000, 0
    for _ in range(draws):
        start = len(rounds)
        patch = transform._sample_patch(HEIGHT, WIDTH, BOXES)
        call = rounds[start:]
        # every failed round draws again; the call ends with a crop or a 0.0
        assert all(p is None for _, p in call[:-1])
        if patch is None:
            uncropped += 1
            assert not call or call[-1][1] is None
        else:
            threshold = call[-1][0]
            assert call[-1][1] is patch
            assert crop_ious(BOXES, patch).max() >= threshold
            assert centres_inside(BOXES, patch).any()
    # each uncropped call ended on exactly one 0.0 draw, a cropped one on none
    total = len(rounds) + uncropped
    counts = {0.0: uncropped}
    for threshold in CVNETS_THRESHOLDS[1:]:
        counts[threshold] = sum(t == threshold for t, _ in rounds)
    for threshold, count in counts.items():
        assert _within(count, total, 1 / 7), (threshold, count, total)
    # 1.0 accepts only a crop equal to a box: never with these boxes
    assert counts[1.0] > 0
    assert all(p is None for t, p in rounds if t == 1.0)


def test_uncropped_fraction_is_what_the_rule_predicts():
    """P(uncropped) = 1 / (1 + sum_t s_t), s_t the chance that one round of
    40 trials at threshold t finds a crop, estimated here from independent
    rounds; with s_1.0 = 0 it is >= 1/6, not the 1/7 of the 0.0 draw."""
    transform = SSDRandomCrop()
    _seed(2)
    rounds = 1000
    success = {
        t: np.mean([
            transform._try_crops(t, HEIGHT, WIDTH, BOXES) is not None
            for _ in range(rounds)
        ])
        for t in CVNETS_THRESHOLDS[1:]
    }
    assert success[1.0] == 0.
    assert success[0.1] > 0.9 and success[0.9] < 0.5  # both cases occur
    predicted = 1 / (1 + sum(success.values()))
    _seed(3)
    draws = 4000
    uncropped = sum(
        transform._sample_patch(HEIGHT, WIDTH, BOXES) is None
        for _ in range(draws))
    # delta method: d predicted / d s_t = -predicted**2
    var = predicted * (1 - predicted) / draws + predicted**4 * sum(
        s * (1 - s) for s in success.values()) / rounds
    observed = uncropped / draws
    assert abs(observed - predicted) <= Z * math.sqrt(var), (observed,
                                                             predicted)
    assert observed >= 1 / 6 - Z * math.sqrt(var)


def _area_probability(low: float, high: float, min_side: float,
                      aspect: tuple) -> float:
    """P(low < u * v <= high | aspect[0] <= v / u <= aspect[1]) for u, v
    ~ U(min_side, 1): 1-D integral over u of the v-interval's length
    (trapezoid rule on 2e5 intervals: error ~1e-10)."""
    u = np.linspace(min_side, 1, 200_001)

    def mass(cap: float) -> float:
        v_low = np.maximum(min_side, aspect[0] * u)
        v_high = np.minimum.reduce([np.ones_like(u), aspect[1] * u, cap / u])
        return np.trapz(np.clip(v_high - v_low, 0, None), u)

    return (mass(high) - mass(low)) / mass(np.inf)


def test_crop_sides_and_area_follow_the_rule():
    """With boxes that every crop satisfies (one covering the image: IoU =
    crop area >= 0.09 > 0.05; a lattice of centres 500 px apart: every crop
    holds one), the first trial whose aspect passes is taken, so its sides
    are U(0.3, 1) x the image's, conditioned on 0.5 <= h / w <= 2."""
    size = 10_000  # sizes only: no image is cropped
    centres = np.arange(250, size, 500, dtype=np.float64)
    cx, cy = np.meshgrid(centres, centres)
    lattice = np.stack([cx - 1, cy - 1, cx + 1, cy + 1], -1).reshape(-1, 4)
    boxes = np.concatenate([[[0., 0., size, size]], lattice])
    transform = SSDRandomCrop()
    _seed(4)
    draws = 4000
    patches = np.stack([
        transform._try_crops(0.05, size, size, boxes) for _ in range(draws)
    ])
    sides = (patches[:, 2:] - patches[:, :2]) / size  # [N, 2] (w, h)
    # truncating both edges to integers moves each side by < 1 px either
    # way (int(left + w) - int(left) lies in (w - 1, w + 1))
    px = 1 / size
    assert (sides >= 0.3 - px).all() and (sides <= 1).all()
    # drawn h / w in [0.5, 2] with w >= a = 0.3 * size px: the kept ratio
    # lies in ((0.5 w - 1) / (w + 1), (2 w + 1) / (w - 1)), widest at w = a
    aspect = patches[:, 3] - patches[:, 1], patches[:, 2] - patches[:, 0]
    aspect = aspect[0] / aspect[1]
    a = 0.3 * size
    rounding = 1 + 4 * np.finfo(np.float64).eps  # of the two divisions
    assert (aspect * rounding >= (0.5 * a - 1) / (a + 1)).all()
    assert (aspect <= (2 * a + 1) / (a - 1) * rounding).all()
    # the area fraction per bin; truncation moves it by < 2 px / size, which
    # moves a bin's probability by < 2 edges * density (< ln(1/0.3) / 0.49
    # / P(aspect ok) <= 3) * 2 px / size
    area = sides.prod(axis=1)
    slack = 2 * 3 * 2 * px
    edges = (0.09 - 2 * px, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.)
    for low, high in zip(edges[:-1], edges[1:]):
        p = _area_probability(low, high, 0.3, (0.5, 2.))
        count = int(((area > low) & (area <= high)).sum())
        assert _within(count, draws, p, slack), (low, high, count, p)


def test_threshold_one_accepts_only_a_crop_equal_to_a_box():
    # integer box coordinates on a small image: an integer crop can equal it
    box = np.array([[1., 1., 9., 9.]])
    transform = SSDRandomCrop()
    _seed(5)
    found = [transform._try_crops(1.0, 10, 10, box) for _ in range(300)]
    accepted = [p for p in found if p is not None]
    assert accepted  # P(a round succeeds) is ~0.1 here
    for patch in accepted:
        assert patch.tolist() == [1, 1, 9, 9]


# ---------------------------------------------------------- consistency
@pytest.mark.parametrize('as_array', [False, True])
def test_kept_boxes_labels_and_flags_agree_with_the_crop(as_array):
    transform = SSDRandomCrop()
    _seed(6 + as_array)
    cropped = 0
    for _ in range(300):
        results = transform(_results(as_array=as_array))
        img = results['img']
        boxes = results['gt_bboxes']
        assert isinstance(boxes, np.ndarray if as_array else HorizontalBoxes)
        coords = boxes if as_array else boxes.numpy()
        assert results['img_shape'] == img.shape[:2]
        assert (len(coords) == len(results['gt_bboxes_labels']) == len(
            results['gt_ignore_flags']))
        if img.shape[:2] == (HEIGHT, WIDTH):
            np.testing.assert_array_equal(img, _coded_image())
            np.testing.assert_allclose(coords, BOXES, rtol=0, atol=1e-4)
            continue
        cropped += 1
        left, top = int(img[0, 0, 0]), int(img[0, 0, 1])
        height, width = img.shape[:2]
        patch = np.array([left, top, left + width, top + height])
        np.testing.assert_array_equal(
            img, _coded_image()[top:top + height, left:left + width])
        keep = centres_inside(BOXES, patch)
        assert keep.any()
        expected = np.clip(BOXES[keep] - [left, top, left, top], 0,
                           [width, height, width, height])
        np.testing.assert_allclose(coords, expected, rtol=0, atol=1e-4)
        assert (coords[:, :2] >= 0).all()
        assert (coords[:, 2:] <= [width, height]).all()
        np.testing.assert_array_equal(results['gt_bboxes_labels'],
                                      LABELS[keep])
        np.testing.assert_array_equal(results['gt_ignore_flags'],
                                      FLAGS[keep])
    assert cropped > 100  # most calls crop (P(uncropped) ~ 0.2)


def test_masks_and_seg_maps_follow_the_crop():
    results = _results()
    masks = np.zeros((3, HEIGHT, WIDTH), dtype=np.uint8)
    for mask, box in zip(masks, BOXES.astype(int)):
        mask[box[1]:box[3], box[0]:box[2]] = 1
    results['gt_masks'] = BitmapMasks(masks, HEIGHT, WIDTH)
    results['gt_seg_map'] = _coded_image()[..., 0].copy()
    transform = SSDRandomCrop()
    _seed(8)
    for _ in range(50):
        out = transform(copy.deepcopy(results))
        img = out['img']
        left, top = int(img[0, 0, 0]), int(img[0, 0, 1])
        height, width = img.shape[:2]
        assert out['gt_masks'].masks.shape == (len(out['gt_bboxes']), height,
                                               width)
        keep = centres_inside(BOXES,
                              np.array([left, top, left + width,
                                        top + height]))
        np.testing.assert_array_equal(
            out['gt_masks'].masks,
            masks[keep][:, top:top + height, left:left + width])
        np.testing.assert_array_equal(out['gt_seg_map'], img[..., 0])


def test_images_without_boxes_pass_unchanged():
    transform = SSDRandomCrop()
    _seed(9)
    for boxes in (HorizontalBoxes(np.zeros((0, 4), np.float32)),
                  np.zeros((0, 4), np.float32)):
        results = dict(
            img=_coded_image(),
            img_shape=(HEIGHT, WIDTH),
            gt_bboxes=boxes,
            gt_bboxes_labels=np.zeros(0, np.int64),
            gt_ignore_flags=np.zeros(0, bool))
        img = results['img']
        for _ in range(20):
            out = transform(results)
            assert out['img'] is img and out['img_shape'] == (HEIGHT, WIDTH)
            assert len(out['gt_bboxes']) == 0
    results = dict(img=_coded_image(), img_shape=(HEIGHT, WIDTH))
    assert transform(results)['img'].shape == (HEIGHT, WIDTH, 3)


def test_cached_randomness_crops_a_group_alike():
    transform = SSDRandomCrop()
    _seed(10)
    for _ in range(20):
        with cache_random_params(transform):
            first = transform(_results())
            second = transform(_results())
        np.testing.assert_array_equal(first['img'], second['img'])
        np.testing.assert_array_equal(first['gt_bboxes'].numpy(),
                                      second['gt_bboxes'].numpy())


@pytest.mark.parametrize(
    'kwargs,match',
    [(dict(thresholds=()), 'non-empty sequence'),
     (dict(thresholds=0.5), 'non-empty sequence'),
     (dict(thresholds=(0., 1.5)), r'in \[0, 1\]'),
     (dict(thresholds=(0.1, 0.5)), 'contain 0.0'),
     (dict(max_trials=0), 'positive integer'),
     (dict(max_trials=2.5), 'positive integer'),
     (dict(max_trials=True), 'positive integer'),
     (dict(min_crop_size=0), r'\(0, 1\]'),
     (dict(min_crop_size=1.5), r'\(0, 1\]'),
     (dict(aspect_ratio_range=(2., 1.)), 'low <= high'),
     (dict(aspect_ratio_range=(0., 2.)), 'low <= high'),
     (dict(aspect_ratio_range=(1., )), 'low <= high')])
def test_bad_arguments_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SSDRandomCrop(**kwargs)


def test_defaults_are_cvnets():
    transform = TRANSFORMS.build(dict(type='mmvit.SSDRandomCrop'))
    assert transform.thresholds == (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0)
    assert transform.max_trials == 40
    assert transform.min_crop_size == 0.3
    assert transform.aspect_ratio_range == (0.5, 2.)
    assert 'SSDRandomCrop(thresholds=' in repr(transform)


# ------------------------------------------------------------------ crowd
def test_crowd_boxes_are_dropped():
    results = _results()
    masks = np.arange(3, dtype=np.uint8)[:, None, None] * np.ones(
        (3, 4, 5), np.uint8)
    results['gt_masks'] = BitmapMasks(masks, 4, 5)
    out = FilterCrowdBoxes()(results)
    np.testing.assert_array_equal(out['gt_bboxes'].numpy(), BOXES[[0, 2]])
    np.testing.assert_array_equal(out['gt_bboxes_labels'], LABELS[[0, 2]])
    np.testing.assert_array_equal(out['gt_ignore_flags'], [False, False])
    np.testing.assert_array_equal(out['gt_masks'].masks, masks[[0, 2]])
    # nothing flagged, or no flags at all: unchanged
    again = FilterCrowdBoxes()(out)
    assert len(again['gt_bboxes']) == 2
    plain = dict(gt_bboxes=np.zeros((2, 4), np.float32))
    assert len(FilterCrowdBoxes()(plain)['gt_bboxes']) == 2
    # flags that do not match the boxes: named
    bad = _results()
    bad['gt_ignore_flags'] = np.array([True])
    with pytest.raises(ValueError, match='synthetic.jpg.*1 gt_ignore_flags'):
        FilterCrowdBoxes()(bad)


def test_coco_train_pipeline_drops_crowds_then_crops():
    """The pipeline of the COCO config, from mmdet's LoadAnnotations on: the
    iscrowd box (mmdet: ignore_flag 1) never reaches the crop or the
    packed sample."""
    from mmcv.transforms import Compose
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = parsed_config(
        osp.join(REPO_ROOT, 'configs', '_base_', 'datasets',
                 'coco_detection_ssd-320.py'))
    steps = [step.type for step in cfg.train_pipeline]
    assert steps[1:4] == [
        'LoadAnnotations', 'mmvit.FilterCrowdBoxes', 'mmvit.SSDRandomCrop'
    ]
    assert 'Expand' not in steps and 'MinIoURandomCrop' not in steps
    with DefaultScope.overwrite_default_scope('mmdet'):
        pipeline = Compose(cfg.train_pipeline[1:])
    instances = [
        dict(bbox=box.tolist(), bbox_label=int(label), ignore_flag=int(flag))
        for box, label, flag in zip(BOXES, LABELS, FLAGS)
    ]
    _seed(11)
    for _ in range(20):
        out = pipeline(
            dict(
                img=_coded_image().astype(np.uint8),
                img_shape=(HEIGHT, WIDTH),
                ori_shape=(HEIGHT, WIDTH),
                img_path='synthetic.jpg',
                img_id=1,
                instances=copy.deepcopy(instances)))
        sample = out['data_samples']
        assert out['inputs'].shape == (3, 320, 320)
        assert len(sample.ignored_instances) == 0
        assert 7 not in sample.gt_instances.labels.tolist()  # the crowd box
        assert len(sample.gt_instances) >= 1
