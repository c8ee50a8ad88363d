"""SSDLite-MobileViT: neck, head, anchors and the detection configs."""
import glob
import math
import os.path as osp

import pytest
import torch
import torch.nn as nn
from conftest import num_params, parsed_config, set_norm
from mmengine.registry import DefaultScope
from numerics import assert_close

import planted

pytest.importorskip('mmdet')
from mmdet.registry import MODELS as MMDET_MODELS  # noqa: E402
from mmdet.registry import TASK_UTILS as MMDET_TASK_UTILS  # noqa: E402
from mmdet.structures import DetDataSample  # noqa: E402
from mmdet.utils import register_all_modules  # noqa: E402
from mmengine.structures import InstanceData  # noqa: E402

from mmvit.models.dense_heads import SSDLiteHead  # noqa: E402
from mmvit.models.necks import SSDLiteNeck  # noqa: E402
from mmvit.models.task_modules import SSDLiteAnchorGenerator  # noqa: E402

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(REPO_ROOT, 'configs')
COCO_CONFIGS = {
    # config -> params in M with 80 classes (ml-cvnets layer-by-layer count)
    'ssdlite_mobilevit/ssdlite_mobilevit-s_4xb32-200e_coco.py': 5.739,
    'ssdlite_mobilevit/ssdlite_mobilevit-xs_4xb32-200e_coco.py': 2.742,
    'ssdlite_mobilevit/ssdlite_mobilevit-xxs_4xb32-200e_coco.py': 1.755,
}
ALIASES = {
    'ssdlite_mobilevit_s_coco.py': 'ssdlite_mobilevit/ssdlite_mobilevit-s_4xb32-200e_coco.py',
    'ssdlite_mobilevit_xs_coco.py': 'ssdlite_mobilevit/ssdlite_mobilevit-xs_4xb32-200e_coco.py',
    'ssdlite_mobilevit_xxs_coco.py':
    'ssdlite_mobilevit/ssdlite_mobilevit-xxs_4xb32-200e_coco.py',
    'ssdlite_mobilevit_xxs_shapes.py':
    'ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py',
}
# the short aliases in configs/ and the SSDLite-MobileViT configs
ALL_CONFIGS = sorted(
    osp.relpath(p, CONFIG_DIR)
    for p in glob.glob(osp.join(CONFIG_DIR, 'ssdlite*.py')) +
    glob.glob(osp.join(CONFIG_DIR, 'ssdlite_mobilevit', '*.py')))
BN = dict(type='BN')


@pytest.fixture(scope='module', autouse=True)
def _mmdet_scope():
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield


def build_detector(config: str = 'ssdlite_mobilevit/ssdlite_mobilevit-xxs_4xb32-200e_coco.py',
                   input_size: int = 320,
                   **test_cfg):
    cfg = parsed_config(osp.join(CONFIG_DIR, config))
    set_norm(cfg.model, BN)
    cfg.model.test_cfg.update(test_cfg)
    cfg.model.bbox_head.anchor_generator.input_size = input_size
    return MMDET_MODELS.build(cfg.model)


def _inputs(num_images: int, with_boxes: bool, size: int = 320):
    scale = size / 320
    """A preprocessed batch of random images and their data samples."""
    samples = []
    for i in range(num_images):
        sample = DetDataSample(
            metainfo=dict(
                img_shape=(size, size),
                pad_shape=(size, size),
                ori_shape=(size, size),
                scale_factor=(1., 1.),
                batch_input_shape=(size, size)))
        gt = InstanceData()
        if with_boxes:
            gt.bboxes = (torch.tensor([[20., 30., 140., 200.],
                                       [150., 100., 300., 290.]]) + i) * scale
            gt.labels = torch.tensor([3, 17])
        else:
            gt.bboxes = torch.zeros((0, 4))
            gt.labels = torch.zeros((0, ), dtype=torch.long)
        sample.gt_instances = gt
        samples.append(sample)
    return torch.rand(num_images, 3, size, size), samples


# ---------------------------------------------------------------- configs
def test_every_ssdlite_config_is_tested():
    listed = set(COCO_CONFIGS) | set(ALIASES) | {
        'ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py',
        # the S recipe with the multi-scale sampler (the model of the S
        # config: tests/test_configs/test_multiscale_configs.py)
        'ssdlite_mobilevit/ssdlite_mobilevit-s_4xb32-ms-200e_coco.py',
        # fine-tuning on a user's data (tests/test_configs/test_custom_data.py)
        'ssdlite_mobilevit/ssdlite_mobilevit-s_finetune_custom-coco.py',
    }
    assert set(ALL_CONFIGS) == listed


@pytest.mark.parametrize('config', ALL_CONFIGS)
def test_config_loads_and_builds(config):
    cfg = parsed_config(osp.join(CONFIG_DIR, config))
    assert cfg.default_scope == 'mmdet'
    assert cfg.model.backbone.type == 'mmvit.MobileViT'
    model = MMDET_MODELS.build(cfg.model)  # SyncBN builds without a group
    assert isinstance(model.neck, SSDLiteNeck)
    assert isinstance(model.bbox_head, SSDLiteHead)
    head = cfg.model.bbox_head
    assert tuple(model.neck.out_channels) == tuple(head.in_channels)
    assert model.backbone.out_channels == tuple(cfg.model.neck.in_channels)


def test_demo_head_predictors_start_near_zero():
    """The demo config keeps cvnets' Xavier init but starts the box / class
    predictors at std 0.001 (mmdet's SSD init); the COCO configs keep
    Xavier everywhere."""
    def head_of(name):
        cfg = parsed_config(osp.join(CONFIG_DIR, name))
        cfg.model.backbone.init_cfg = None  # no pretraining run here
        model = MMDET_MODELS.build(cfg.model)
        model.init_weights()
        return model.bbox_head

    demo = head_of('ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py')
    coco = head_of('ssdlite_mobilevit/ssdlite_mobilevit-xxs_4xb32-200e_coco.py')
    for head, small in ((demo, True), (coco, False)):
        for conv in list(head.cls_convs) + list(head.reg_convs):
            fan_in, fan_out = conv.in_channels, conv.out_channels
            xavier_std = math.sqrt(2 / (fan_in + fan_out))
            std = conv.weight.std().item()
            # 1e-3 vs Xavier's >= 0.04 for these convs: a factor 40 apart
            assert (std < 0.002) if small else (std > xavier_std / 2)
            assert not conv.bias.any()
        # the projections keep Xavier (uniform: std = bound / sqrt(3))
        proj = head.proj_convs[0].conv
        fan_in, fan_out = proj.in_channels, proj.out_channels
        assert proj.weight.std().item() > math.sqrt(2 / (fan_in + fan_out)) / 2


@pytest.mark.parametrize('config,expected', sorted(COCO_CONFIGS.items()))
def test_param_count_matches_cvnets(config, expected):
    model = build_detector(config)
    assert model.bbox_head.num_classes == 80
    millions = num_params(model) / 1e6
    assert millions == pytest.approx(expected, rel=0.01), millions


@pytest.mark.parametrize('alias,target', sorted(ALIASES.items()))
def test_alias_is_the_full_config(alias, target):
    a = parsed_config(osp.join(CONFIG_DIR, alias))
    b = parsed_config(osp.join(CONFIG_DIR, target))
    assert a.to_dict() == b.to_dict()


def test_coco_recipe():
    cfg = parsed_config(
        osp.join(CONFIG_DIR, 'ssdlite_mobilevit/ssdlite_mobilevit-s_4xb32-200e_coco.py'))
    assert cfg.train_cfg.max_epochs == 200
    assert cfg.train_dataloader.batch_size == 32
    assert cfg.auto_scale_lr.base_batch_size == 128
    assert cfg.train_dataloader.dataset.data_root == 'data/coco/'
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW', 9e-4, 0.01)
    warmup, cosine = cfg.param_scheduler
    assert (warmup.end, warmup.by_epoch) == (500, False)
    assert warmup.start_factor * opt.lr == pytest.approx(9e-5)
    assert (cosine.type, cosine.eta_min) == ('CosineAnnealingLR', 1e-6)
    ema = [h for h in cfg.custom_hooks if h.type == 'EMAHook']
    assert ema and ema[0].momentum == 0.0005
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    pre = cfg.model.data_preprocessor
    assert pre.mean == [0., 0., 0.] and pre.std == [255., 255., 255.]
    assert pre.bgr_to_rgb is False
    assert cfg.model.backbone.init_cfg.type == 'Pretrained'
    steps = [t.type for t in cfg.train_pipeline]
    for step in ('mmvit.FilterCrowdBoxes', 'mmvit.SSDRandomCrop',
                 'PhotoMetricDistortion', 'RandomFlip', 'Resize'):
        assert step in steps
    assert 'Expand' not in steps  # cvnets' SSD recipe has no zoom-out
    photo = cfg.train_pipeline[steps.index('PhotoMetricDistortion')]
    assert (photo.brightness_delta, photo.contrast_range,
            photo.saturation_range, photo.hue_delta) == (51, (0.5, 1.5),
                                                         (0.5, 1.5), 24)
    test_cfg = cfg.model.test_cfg
    assert (test_cfg.score_thr, test_cfg.nms.iou_threshold,
            test_cfg.max_per_img) == (0.01, 0.5, 200)
    assert test_cfg.nms_pre_per_class == 400  # cvnets HEAD top_k


# ---------------------------------------------------------------- anchors
def _cvnets_anchors(size=320,
                    strides=(16, 32, 64, 128, 256, -1),
                    ratios=((2, 3), ) * 5 + ((2, ), ),
                    fm=None):
    """ml-cvnets' SSD anchors written out from its definition: normalised
    (cx, cy, w, h) per location, clamped to [0, 1], then in pixels x1y1x2y2
    (``fm``: feature map sizes, default ``ceil(size / stride)``)."""
    scales = torch.linspace(0.1, 1.05, len(strides) + 1).tolist()
    out = []
    for k, stride in enumerate(strides):
        n = 1 if stride == -1 else math.ceil(size / stride)
        n_h, n_w = (n, n) if fm is None else fm[k]
        s_min, s_max = scales[k], math.sqrt(scales[k] * scales[k + 1])
        for y in range(n_h):
            for x in range(n_w):
                cx, cy = (x + 0.5) / n_w, (y + 0.5) / n_h
                boxes = [(s_min, s_min), (s_max, s_max)]
                for r in ratios[k]:
                    r = math.sqrt(r)
                    boxes += [(s_min * r, s_min / r), (s_min / r, s_min * r)]
                for w, h in boxes:
                    cxcywh = torch.tensor([cx, cy, w, h]).clamp(0, 1)
                    cx_, cy_, w_, h_ = cxcywh.tolist()
                    out.append([
                        cx_ - w_ / 2, cy_ - h_ / 2, cx_ + w_ / 2, cy_ + h_ / 2
                    ])
    return torch.tensor(out) * size


def test_anchor_count_and_layout():
    gen = MMDET_TASK_UTILS.build(
        dict(type='mmvit.SSDLiteAnchorGenerator', input_size=320))
    assert isinstance(gen, SSDLiteAnchorGenerator)
    assert gen.num_base_priors == [6, 6, 6, 6, 6, 4]
    assert gen.expected_featmap_sizes == [20, 10, 5, 3, 2, 1]
    sizes = [(n, n) for n in gen.expected_featmap_sizes]
    anchors = gen.grid_priors(sizes, device='cpu')
    assert sum(a.shape[0] for a in anchors) == 3232
    assert gen.num_priors_at_input_size == 3232
    all_anchors = torch.cat(anchors)
    widths = all_anchors[:, 2] - all_anchors[:, 0]
    heights = all_anchors[:, 3] - all_anchors[:, 1]
    assert widths.max() <= 320 + 1e-4 and heights.max() <= 320 + 1e-4
    # first anchor: the 32-px square centred on the first 16-px cell
    assert torch.allclose(anchors[0][0], torch.tensor([-8., -8., 24., 24.]))


def test_anchors_equal_cvnets_definition():
    gen = SSDLiteAnchorGenerator(input_size=320)
    sizes = [(n, n) for n in gen.expected_featmap_sizes]
    ours = torch.cat(gen.grid_priors(sizes, device='cpu'))
    assert torch.allclose(ours, _cvnets_anchors(), atol=1e-3)


@pytest.mark.parametrize('height,width', [(192, 192), (128, 160)])
def test_anchors_follow_other_input_sizes_as_cvnets(height, width):
    """Multi-scale inputs: the layout relative to the image is kept."""
    gen = SSDLiteAnchorGenerator(input_size=320)
    strides = (16, 32, 64, 128, 256)
    sizes = [(math.ceil(height / s), math.ceil(width / s))
             for s in strides] + [(1, 1)]
    ours = torch.cat(gen.grid_priors(sizes, device='cpu'))
    if height == width:
        assert torch.allclose(ours, _cvnets_anchors(size=height), atol=1e-3)
    else:  # x scales with the width, y with the height
        ref_w = _cvnets_anchors(size=width, fm=sizes)
        ref_h = _cvnets_anchors(size=height, fm=sizes)
        assert torch.allclose(ours[:, 0::2], ref_w[:, 0::2], atol=1e-3)
        assert torch.allclose(ours[:, 1::2], ref_h[:, 1::2], atol=1e-3)
    flags = gen.valid_flags(sizes, (height, width), device='cpu')
    assert sum(int(f.sum()) for f in flags) == len(ours)


def test_anchor_generator_checks_its_arguments():
    gen = SSDLiteAnchorGenerator(input_size=320)
    with pytest.raises(ValueError, match='expected 6 feature maps'):
        gen.grid_priors([(20, 20)], device='cpu')
    with pytest.raises(ValueError, match='one entry per level'):
        SSDLiteAnchorGenerator(ratios=([2, 3], ))
    with pytest.raises(ValueError, match='>= 1'):
        SSDLiteAnchorGenerator(ratios=([0.5], ) * 6)


# ---------------------------------------------------------------- neck/head
def test_neck_shapes_and_structure():
    neck = SSDLiteNeck(in_channels=(128, 160))
    feats = (torch.rand(2, 128, 20, 20), torch.rand(2, 160, 10, 10))
    outs = neck(feats)
    assert [tuple(o.shape[1:]) for o in outs] == [(128, 20, 20), (160, 10, 10),
                                                  (256, 5, 5), (128, 3, 3),
                                                  (128, 2, 2), (64, 1, 1)]
    assert outs[0] is feats[0] and outs[1] is feats[1]
    layer = neck.extra_layers[0]
    assert not layer.depthwise_conv.with_activation  # dw: BN, no act
    assert layer.depthwise_conv.with_norm
    assert layer.depthwise_conv.conv.groups == 160
    assert isinstance(layer.pointwise_conv.activate, nn.ReLU)
    assert layer.pointwise_conv.with_norm
    glob_conv = neck.global_layer[1]
    assert glob_conv.conv.bias is None and not glob_conv.with_norm
    assert isinstance(glob_conv.activate, nn.ReLU)
    with pytest.raises(ValueError, match='expects 2 maps'):
        neck(feats[:1])


def test_training_on_one_image_is_a_clear_error():
    neck = SSDLiteNeck(in_channels=(128, 160))
    one = (torch.rand(1, 128, 20, 20), torch.rand(1, 160, 10, 10))
    with pytest.raises(ValueError, match='batch of one image.*drop_last'):
        neck(one)
    neck.eval()  # inference on one image is fine
    assert neck(one)[-1].shape == (1, 64, 1, 1)
    # GroupNorm normalises within the image: no batch constraint
    gn = SSDLiteNeck(
        in_channels=(128, 160), norm_cfg=dict(type='GN', num_groups=8))
    assert gn(one)[-1].shape == (1, 64, 1, 1)


def test_head_structure():
    head = SSDLiteHead(num_classes=80)
    # projections only where proj_channels differ: 128->512, 160->256
    assert [isinstance(p, nn.Identity) for p in head.proj_convs
            ] == [False, False, True, True, True, True]
    assert isinstance(head.dw_convs[-1], nn.Identity)  # global level: 1x1
    assert head.dw_convs[0].conv.groups == 512
    assert not head.dw_convs[0].with_activation
    assert head.cls_convs[0].out_channels == 6 * 81
    assert head.reg_convs[0].out_channels == 6 * 4
    assert head.cls_convs[-1].out_channels == 4 * 81
    assert head.loss_cls is None  # mmdet 3.3.0 SSDHead bug worked around
    with pytest.raises(ValueError, match='one entry per level'):
        SSDLiteHead(proj_channels=(512, 256))


def test_predict_returns_at_most_200_boxes():
    model = build_detector(score_thr=0.)  # random init: scores ~ 1 / 81
    model.eval()
    inputs, samples = _inputs(2, with_boxes=False)
    with torch.no_grad():
        results = model.predict(inputs, samples)
    assert len(results) == 2
    for result in results:
        pred = result.pred_instances
        assert 0 < len(pred) <= 200
        assert pred.bboxes.shape == (len(pred), 4)
        assert pred.scores.shape == pred.labels.shape == (len(pred), )
        assert pred.labels.min() >= 0 and pred.labels.max() < 80
        assert (pred.bboxes >= 0).all() and (pred.bboxes <= 320).all()
        assert (pred.scores[:-1] >= pred.scores[1:]).all()


def test_loss_is_finite_with_and_without_objects():
    model = build_detector()
    model.train()
    for with_boxes in (False, True):
        inputs, samples = _inputs(2, with_boxes=with_boxes)
        losses = model.loss(inputs, samples)
        total = sum(sum(v) for v in losses.values())
        assert torch.isfinite(total)
        if with_boxes:
            assert total > 0
            total.backward()
    unused = [
        name for name, p in model.named_parameters()
        if p.requires_grad and p.grad is None
    ]
    assert unused == []


def test_loss_falls_on_a_fixed_batch():
    # 128x128 inputs (anchors laid out for 128) keep this CPU-fast
    model = build_detector(input_size=128)
    model.train()
    inputs, samples = _inputs(2, with_boxes=True, size=128)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    history = []
    for _ in range(6):
        losses = model.loss(inputs, samples)
        total = sum(sum(v) for v in losses.values())
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        history.append(total.item())
    assert history[-1] < 0.7 * history[0], history


# ------------------------------------------- per-class top-k before NMS
FEATMAP_SIZES_320 = [(20, 20), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)]
META_320 = dict(
    img_shape=(320, 320), ori_shape=(320, 320), scale_factor=(1., 1.))


def _head_test_cfg(**overrides):
    from mmengine.config import ConfigDict
    cfg = dict(
        nms_pre=1000,
        nms=dict(type='nms', iou_threshold=0.5),
        min_bbox_size=0,
        score_thr=0.01,
        max_per_img=200)
    cfg.update(overrides)
    return ConfigDict(cfg)


def _planted_logits(head, plants):
    """Head outputs of one image where only ``plants`` = ``(level, row, col,
    anchor, label, score)`` score above 1e-8 (softmax: background logit 0,
    other classes -20); box deltas 0 (boxes = anchors)."""
    num_out = head.cls_out_channels
    cls_scores, bbox_preds = [], []
    for a, (h, w) in zip(head.num_base_priors, FEATMAP_SIZES_320):
        cls = torch.full((1, a * num_out, h, w), -20.)
        cls[:, num_out - 1::num_out] = 0.
        cls_scores.append(cls)
        bbox_preds.append(torch.zeros(1, a * 4, h, w))
    for level, row, col, anchor, label, score in plants:
        logit = math.log(score / (1 - score))
        cls_scores[level][0, anchor * num_out + label, row, col] = logit
    return cls_scores, bbox_preds


def _predict(head, outputs, with_nms=True, **test_cfg):
    cls_scores, bbox_preds = outputs
    return head.predict_by_feat(
        cls_scores,
        bbox_preds,
        batch_img_metas=[META_320],
        cfg=_head_test_cfg(**test_cfg),
        rescale=False,
        with_nms=with_nms)[0]


def test_per_class_topk_changes_which_boxes_survive():
    head = SSDLiteHead(num_classes=3, norm_cfg=BN)
    # anchor 0 (32 px squares) of level-0 cells 6 strides apart, and one on
    # level 1: no two overlap, so NMS drops none of them
    plants = [(0, 2, 2, 0, 0, .9), (0, 2, 8, 0, 0, .8), (1, 5, 5, 0, 0, .7),
              (0, 8, 2, 0, 1, .6), (0, 8, 8, 0, 2, .5)]
    outputs = _planted_logits(head, plants)

    def kept(result):
        return sorted(zip(result.labels.tolist(),
                          [round(s, 3) for s in result.scores.tolist()]))

    every = [(0, .7), (0, .8), (0, .9), (1, .6), (2, .5)]
    assert kept(_predict(head, outputs, nms_pre_per_class=None)) == every
    # cvnets: each class's 2 best anchors over all levels
    assert kept(_predict(head, outputs, nms_pre_per_class=2)) == [
        (0, .8), (0, .9), (1, .6), (2, .5)]
    assert kept(_predict(head, outputs, nms_pre_per_class=1)) == [
        (0, .9), (1, .6), (2, .5)]
    # mmdet: the 2 best (anchor, class) pairs of each level
    assert kept(_predict(head, outputs, nms_pre=2)) == [(0, .7), (0, .8),
                                                         (0, .9)]
    # the boxes are the planted anchors (deltas 0)
    result = _predict(head, outputs, nms_pre_per_class=1)
    anchors = head.prior_generator.grid_priors(FEATMAP_SIZES_320, device='cpu')
    assert torch.equal(result.bboxes[0], anchors[0][(2 * 20 + 2) * 6])
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match='nms_pre_per_class'):
            _predict(head, outputs, nms_pre_per_class=bad)


def test_per_class_topk_over_all_anchors_is_mmdets_selection():
    """With k >= the number of anchors nothing over score_thr is dropped:
    the same candidates as mmdet's path with an nms_pre that drops none."""
    import numpy as np
    import planted
    from conftest import torch_generator
    from numerics import assert_close
    head = SSDLiteHead(num_classes=4, norm_cfg=BN, test_cfg=_head_test_cfg())
    num_anchors = sum(a * h * w for a, (h, w) in zip(head.num_base_priors,
                                                    FEATMAP_SIZES_320))
    assert num_anchors == 3232
    # random outputs (many candidates): the candidate sets before NMS
    gen = torch_generator(13)
    outputs = ([
        torch.randn(1, a * head.cls_out_channels, h, w, generator=gen) * 2
        for a, (h, w) in zip(head.num_base_priors, FEATMAP_SIZES_320)
    ], [
        torch.randn(1, a * 4, h, w, generator=gen)
        for a, (h, w) in zip(head.num_base_priors, FEATMAP_SIZES_320)
    ])
    ours = _predict(
        head, outputs, with_nms=False, nms_pre_per_class=num_anchors)
    mmdet = _predict(head, outputs, with_nms=False, nms_pre=10**9)
    assert 1000 < len(ours) == len(mmdet)

    def ordered(result):  # by label, then box (identical decodes)
        keys = torch.cat([result.labels[:, None].float(), result.bboxes], 1)
        order = np.lexsort(keys.numpy().T[::-1])
        return (result.labels[order], result.bboxes[order],
                result.scores[order])

    (labels, boxes, scores), (labels2, boxes2, scores2) = ordered(
        ours), ordered(mmdet)
    assert torch.equal(labels, labels2)
    assert torch.equal(boxes, boxes2)
    assert_close(scores, scores2)
    # planted outputs (no near-ties): the same detections after NMS
    outputs = planted.head_outputs(head, FEATMAP_SIZES_320)
    expected_boxes, expected_scores, expected_labels = (
        planted.expected_detections(head, FEATMAP_SIZES_320))
    for test_cfg in (dict(nms_pre_per_class=num_anchors),
                     dict(nms_pre_per_class=None)):
        result = _predict(head, outputs, **test_cfg)
        assert torch.equal(result.labels, expected_labels)
        assert_close(result.bboxes, expected_boxes)
        assert_close(result.scores, expected_scores)


def test_coco_detector_predicts_with_per_class_topk():
    model = build_detector(score_thr=0.)  # random init: scores ~ 1 / 81
    assert model.bbox_head.test_cfg.nms_pre_per_class == 400
    model.eval()
    inputs, samples = _inputs(1, with_boxes=False)
    with torch.no_grad():
        pred = model.predict(inputs, samples)[0].pred_instances
    assert 0 < len(pred) <= 200
    assert (pred.scores[:-1] >= pred.scores[1:]).all()


# --------------------------------------------- half precision (GPU readiness)
HALF_DTYPES = (torch.bfloat16, torch.float16)


def _rounding_bounds(head, outputs, dtype):
    """Relative bounds (:func:`numerics.assert_close`) on the scores and
    boxes of a float32 decode + NMS of planted head outputs rounded to
    ``dtype`` (relative error ``u`` on every logit and delta):

    * a planted score is ``s = sigmoid(z)`` (background logit 0, the other
      classes' ``e**-20`` change nothing at this scale), so a logit error
      ``|dz| <= u |z|`` moves it by ``s (1 - s) u |z|``: relative to the
      largest score, ``u max(s (1 - s) |z|) / max(s)``;
    * a box side ``x1 = cx - w / 2`` moves by ``std_x |dx| u p_w`` through
      the centre and ``std_w |dw| u w / 2`` through the size, with the prior
      ``p_w`` and the box ``w`` within the input, itself below twice the
      largest coordinate of the plan: ``2 u max(sum_k std_k |delta_k|)``.

    float32's own rounding (~1e-7) is far below both."""
    u = torch.finfo(dtype).eps / 2  # unit roundoff
    cls_scores, bbox_preds = outputs
    logits = torch.cat([c.flatten() for c in cls_scores])
    logits = logits[logits > planted.BACKGROUND_ONLY]
    score = logits.sigmoid()
    score_rel = u * float(
        (score * (1 - score) * logits.abs()).max() / score.max())
    stds = torch.tensor(head.bbox_coder.stds)
    deltas = torch.cat(
        [b.permute(0, 2, 3, 1).reshape(-1, 4) for b in bbox_preds])
    box_rel = 2 * u * float((deltas.abs() * stds).sum(-1).max())
    return score_rel, box_rel


@pytest.mark.parametrize('dtype', HALF_DTYPES)
@pytest.mark.parametrize('per_class', [3232, None])
def test_half_precision_outputs_predict_as_float32(dtype, per_class):
    """fp16 / bf16 head outputs (autocast, half test settings) are decoded
    and NMS'd in float32: exactly the detections of the same (rounded)
    values in float32, and the planted ones within the rounding bound."""
    head = SSDLiteHead(num_classes=4, norm_cfg=BN, test_cfg=_head_test_cfg())
    outputs = planted.head_outputs(head, FEATMAP_SIZES_320)
    half = tuple([t.to(dtype) for t in level] for level in outputs)
    upcast = tuple([t.float() for t in level] for level in half)
    result = _predict(head, half, nms_pre_per_class=per_class)
    reference = _predict(head, upcast, nms_pre_per_class=per_class)
    assert result.bboxes.dtype == result.scores.dtype == torch.float32
    assert torch.equal(result.labels, reference.labels)
    assert torch.equal(result.bboxes, reference.bboxes)
    assert torch.equal(result.scores, reference.scores)
    boxes, scores, labels = planted.expected_detections(
        head, FEATMAP_SIZES_320)
    score_rel, box_rel = _rounding_bounds(head, outputs, dtype)
    assert torch.equal(result.labels, labels)
    assert_close(result.scores, scores, rel=score_rel, what='scores')
    assert_close(result.bboxes, boxes, rel=box_rel, what='boxes')


def _shapes_detector(size: int = 128):
    cfg = parsed_config(
        osp.join(CONFIG_DIR, 'ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py'))
    cfg.model.backbone.init_cfg = None  # no pretraining run here
    cfg.model.bbox_head.anchor_generator.input_size = size
    return MMDET_MODELS.build(cfg.model)


def test_bf16_autocast_train_step_and_predict():
    import types
    model = _shapes_detector(128)
    model.train()
    inputs, samples = _inputs(2, with_boxes=True, size=128)
    for sample in samples:  # the shapes set's classes
        sample.gt_instances.labels %= model.bbox_head.num_classes
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(inputs, samples)
    values = [v for value in losses.values() for v in value]
    assert values and all(v.dtype == torch.float32 for v in values)
    assert all(torch.isfinite(v).all() for v in values)
    sum(v.sum() for v in values).backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)

    # predict under autocast: the planted detections
    model.eval()
    head = model.bbox_head
    sizes = planted.featmap_sizes(model, (128, 128))
    head.forward = types.MethodType(planted.planted_forward, head)
    with torch.no_grad():
        fp32 = model.predict(inputs[:1], samples[:1])[0].pred_instances
        with torch.autocast('cpu', dtype=torch.bfloat16):
            bf16 = model.predict(inputs[:1], samples[:1])[0].pred_instances
    boxes, scores, labels = planted.expected_detections(head, sizes)
    outputs = planted.head_outputs(head, sizes)
    score_rel, box_rel = _rounding_bounds(head, outputs, torch.bfloat16)
    assert torch.equal(fp32.labels, labels)
    assert_close(fp32.bboxes, boxes)
    assert_close(fp32.scores, scores)
    assert bf16.bboxes.dtype == torch.float32
    assert torch.equal(bf16.labels, labels)
    assert_close(bf16.bboxes, boxes, rel=box_rel, what='boxes')
    assert_close(bf16.scores, scores, rel=score_rel, what='scores')


# ------------------------------------------------- batch-of-one guard
def _neck_variants():
    from mmengine.model import revert_sync_batchnorm
    sync = SSDLiteNeck(in_channels=(128, 160), norm_cfg=dict(type='SyncBN'))
    assert any(isinstance(m, nn.SyncBatchNorm) for m in sync.modules())
    reverted = revert_sync_batchnorm(
        SSDLiteNeck(in_channels=(128, 160), norm_cfg=dict(type='SyncBN')))
    kinds = {type(m).__name__ for m in reverted.modules()}
    assert '_BatchNormXd' in kinds, kinds
    return dict(
        BN=SSDLiteNeck(in_channels=(128, 160)),
        SyncBN=sync,
        BatchNormXd=reverted)


@pytest.mark.parametrize('kind', ['BN', 'SyncBN', 'BatchNormXd'])
def test_neck_batch_of_one_guard_covers_every_batch_norm(kind):
    neck = _neck_variants()[kind]
    one = (torch.rand(1, 128, 20, 20), torch.rand(1, 160, 10, 10))
    two = (torch.rand(2, 128, 20, 20), torch.rand(2, 160, 10, 10))
    neck.train()
    with pytest.raises(ValueError, match='batch of one image.*drop_last'):
        neck(one)
    assert neck(two)[-1].shape == (2, 64, 1, 1)
    neck.eval()
    assert neck(one)[-1].shape == (1, 64, 1, 1)


# ------------------------------------------------- anchors on the device
def test_anchors_are_built_on_the_requested_device():
    import inspect

    from mmdet.models.task_modules.prior_generators import AnchorGenerator
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    class CpuTensors(TorchDispatchMode):
        """Records the size of every tensor an op creates on the CPU."""

        def __init__(self):
            super().__init__()
            self.numels = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            self.numels += [
                t.numel() for t in tree_flatten(out)[0]
                if isinstance(t, torch.Tensor) and t.device.type == 'cpu'
            ]
            return out

    default = inspect.signature(
        SSDLiteAnchorGenerator.grid_priors).parameters['device'].default
    assert default == inspect.signature(
        AnchorGenerator.grid_priors).parameters['device'].default
    design = [(n, n) for n in (20, 10, 5, 3, 2, 1)]
    rescaled = [(math.ceil(192 / s), ) * 2 for s in (16, 32, 64, 128, 256)]
    for sizes in (design, rescaled + [(1, 1)]):
        gen = SSDLiteAnchorGenerator(input_size=320)
        reference = SSDLiteAnchorGenerator(input_size=320).grid_priors(
            sizes, device='cpu')
        largest_base = max(b.numel() for b in gen.base_anchors)
        with CpuTensors() as mode:
            meta = gen.grid_priors(sizes, device=torch.device('meta'))
        # nothing of the grid's size was built on the CPU (and copied)
        assert max(mode.numels, default=0) <= largest_base, mode.numels
        assert [a.device.type for a in meta] == ['meta'] * len(sizes)
        assert [a.shape for a in meta] == [a.shape for a in reference]
        # computed in float32, then cast; cached per (sizes, device, dtype)
        cpu = gen.grid_priors(sizes, device='cpu')
        assert all(torch.equal(a, b) for a, b in zip(cpu, reference))
        bf16 = gen.grid_priors(sizes, dtype=torch.bfloat16, device='cpu')
        assert all(
            torch.equal(a, b.bfloat16()) for a, b in zip(bf16, reference))
        again = gen.grid_priors(sizes, device=torch.device('cpu'))
        assert all(a is b for a, b in zip(again, cpu))
