"""DeepLabv3-MobileViT: the cvnets-style head and the mmseg configs."""
import copy
import glob
import os.path as osp

import pytest
import torch
import torch.nn as nn
from conftest import SEED, num_params, parsed_config, set_norm
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData

pytest.importorskip('mmseg')
from mmseg.registry import MODELS as MMSEG_MODELS  # noqa: E402
from mmseg.structures import SegDataSample  # noqa: E402
from mmseg.utils import register_all_modules  # noqa: E402

from mmvit.models.decode_heads import ASPPPooling, DeepLabV3Head  # noqa: E402

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(REPO_ROOT, 'configs')
VOC_CONFIGS = {
    # config -> (params without aux head in M, output stride)
    'deeplabv3_mobilevit/deeplabv3_mobilevit-s-d16_4xb32-50e_voc12aug-512x512.py': (6.358, 16),
    'deeplabv3_mobilevit/deeplabv3_mobilevit-xs-d16_4xb32-50e_voc12aug-512x512.py': (2.944, 16),
    'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_4xb32-50e_voc12aug-512x512.py': (1.855, 16),
    'deeplabv3_mobilevit/deeplabv3-aspp512_mobilevit-s-d8_4xb16-accum2-50e_voc12aug-coco-512x512.py':
    (8.537, 8),
}
ALIASES = {
    'deeplabv3_mobilevit_s_voc.py':
    'deeplabv3_mobilevit/deeplabv3_mobilevit-s-d16_4xb32-50e_voc12aug-512x512.py',
    'deeplabv3_mobilevit_xs_voc.py':
    'deeplabv3_mobilevit/deeplabv3_mobilevit-xs-d16_4xb32-50e_voc12aug-512x512.py',
    'deeplabv3_mobilevit_xxs_voc.py':
    'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_4xb32-50e_voc12aug-512x512.py',
    'deeplabv3_mobilevit_s_os8_voc.py':
    'deeplabv3_mobilevit/deeplabv3-aspp512_mobilevit-s-d8_4xb16-accum2-50e_voc12aug-coco-512x512.py',
    'deeplabv3_mobilevit_xxs_shapes.py':
    'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_1xb8-2e_shapes-256x256.py',
}
# the short aliases in configs/ and the DeepLabv3-MobileViT configs
ALL_CONFIGS = sorted(
    osp.relpath(p, CONFIG_DIR)
    for p in glob.glob(osp.join(CONFIG_DIR, 'deeplabv3*.py')) +
    glob.glob(osp.join(CONFIG_DIR, 'deeplabv3_mobilevit', '*.py')))
BN = dict(type='BN', requires_grad=True)


def build_segmentor(name: str, **model_overrides) -> nn.Module:
    register_all_modules(init_default_scope=False)
    cfg = parsed_config(osp.join(CONFIG_DIR, name))
    model_cfg = cfg.model
    model_cfg.update(model_overrides)
    if cfg.get('pretrain_config'):
        # the demo's backbone checkpoint is written by its pretraining stage
        # (the hand-over: tests/test_datasets/test_shapes_classification.py)
        model_cfg.backbone.init_cfg = None
    set_norm(model_cfg, BN)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MMSEG_MODELS.build(model_cfg)
    model.init_weights()
    return model


def make_head(**kwargs) -> DeepLabV3Head:
    args = dict(
        in_channels=16,
        channels=8,
        num_classes=5,
        norm_cfg=BN,
        dilations=(1, 1, 2, 3))
    args.update(kwargs)
    return DeepLabV3Head(**args)


# ---------------------------------------------------------------- the head
def test_head_layout_follows_cvnets():
    head = make_head()
    branches = head.aspp_convs
    # order [1x1, rate 1, rate 2, rate 3, image pool]: cvnets' concat order
    assert len(branches) == 5
    assert branches[0].conv.kernel_size == (1, 1)
    for branch, rate in zip(branches[1:4], (1, 2, 3)):
        assert branch.conv.kernel_size == (3, 3)
        assert branch.conv.dilation == (rate, rate)
        assert branch.conv.padding == (rate, rate)
    assert isinstance(branches[4], ASPPPooling)
    for conv_module in [*branches[:4], branches[4].conv, head.project]:
        assert isinstance(conv_module.bn, nn.BatchNorm2d)
        assert isinstance(conv_module.activate, nn.ReLU)
        assert conv_module.conv.bias is None  # a norm follows
    # 1x1 projection (mmseg's ASPPHead has a 3x3 bottleneck)
    assert head.project.conv.kernel_size == (1, 1)
    assert head.project.conv.in_channels == 5 * 8
    assert isinstance(head.dropout, nn.Dropout2d) and head.dropout.p == 0.1
    assert head.conv_seg.kernel_size == (1, 1)
    assert head.conv_seg.bias is not None


def test_head_concatenates_branches_in_cvnets_order():
    head = make_head().eval()
    seen = []
    head.project.register_forward_pre_hook(
        lambda module, args: seen.append(args[0]))
    x = torch.randn(2, 16, 9, 11)
    with torch.no_grad():
        head((x, ))
        expected = [branch(x) for branch in head.aspp_convs]
    assert torch.equal(seen[0], torch.cat(expected, dim=1))
    # the image-pool part is one value per channel, broadcast over H x W
    pooled = seen[0][:, 32:]
    assert torch.allclose(pooled, pooled[..., :1, :1].expand_as(pooled))


def test_head_forward_backward_reaches_every_parameter():
    head = make_head(dropout_ratio=0.)
    feats = (torch.randn(2, 4, 8, 8), torch.randn(2, 16, 8, 8))
    head.in_index = 1
    logits = head(feats)
    assert logits.shape == (2, 5, 8, 8)
    logits.square().mean().backward()
    missing = [n for n, p in head.named_parameters() if p.grad is None]
    assert not missing


def test_head_loss_honours_ignore_index():
    head = make_head(dropout_ratio=0.)
    feats = (torch.randn(2, 16, 8, 8), )

    def loss_for(label):
        sample = SegDataSample(gt_sem_seg=PixelData(data=label[None]))
        return head.loss(feats, [sample, sample], train_cfg={})

    label = torch.randint(0, 5, (32, 32))
    losses = loss_for(label)
    assert set(losses) == {'loss_ce', 'acc_seg'}
    assert losses['loss_ce'] > 0
    # logits are resized to the label size; an all-ignored label gives 0
    assert loss_for(torch.full((32, 32), 255)).get('loss_ce') == 0
    with pytest.raises(Exception):
        loss_for(torch.full((32, 32), 7))  # out-of-range class, not ignored


@pytest.mark.parametrize('dilations', [(), (6, 0, 18), (6, 12.5), '6,12,18', 6,
                                       (True, )])
def test_head_rejects_bad_dilations(dilations):
    with pytest.raises(ValueError, match='dilations'):
        make_head(dilations=dilations)


def test_head_dilations_start_with_the_1x1_branch_as_in_mmseg():
    # mmseg's ASPPHead(dilations=(1, 12, 24, 36)) ports as it is; rates
    # without the leading 1 would silently drop or add a branch
    head = make_head(dilations=(1, 12, 24, 36))
    assert [b.conv.dilation for b in head.aspp_convs[:4]] == [
        (1, 1), (12, 12), (24, 24), (36, 36)]
    assert head.aspp_convs[0].conv.kernel_size == (1, 1)
    assert len(head.aspp_convs) == 5
    with pytest.raises(ValueError, match=r'starts with 1, the rate of the '
                       r'1x1 branch.*write \(1, 6, 12, 18\)'):
        make_head(dilations=(6, 12, 18))


def test_head_names_channel_mismatch():
    head = make_head()
    with pytest.raises(ValueError, match='expects 16 input channels'):
        head((torch.randn(2, 12, 8, 8), ))


def test_head_rejects_multi_input_transform():
    with pytest.raises(ValueError, match='input_transform'):
        make_head(
            in_channels=[8, 8],
            in_index=[0, 1],
            input_transform='resize_concat')


def test_head_is_registered_for_every_scope():
    from mmengine.registry import MODELS
    for scope in ('mmseg', 'mmdet', 'mmpretrain', None):
        with DefaultScope.overwrite_default_scope(scope):
            head = MODELS.build(
                dict(
                    type='mmvit.DeepLabV3Head',
                    in_channels=8,
                    channels=4,
                    num_classes=3))
        assert type(head) is DeepLabV3Head


# ---------------------------------------------------------------- configs
def test_config_files_exist_as_real_files():
    for name in [*VOC_CONFIGS, *ALIASES]:
        path = osp.join(CONFIG_DIR, name)
        assert osp.isfile(path) and not osp.islink(path), name
    for alias, target in ALIASES.items():
        a = parsed_config(osp.join(CONFIG_DIR, alias))
        b = parsed_config(osp.join(CONFIG_DIR, target))
        assert a.to_dict() == b.to_dict(), alias


@pytest.mark.parametrize('name', ALL_CONFIGS)
def test_every_config_loads_and_builds(name):
    cfg = parsed_config(osp.join(CONFIG_DIR, name))
    assert cfg.default_scope == 'mmseg'
    assert 'mmvit' in cfg.custom_imports.imports
    model = build_segmentor(name)
    assert model.decode_head.ignore_index == 255
    assert isinstance(model.decode_head, DeepLabV3Head)


@pytest.mark.parametrize('name', sorted(VOC_CONFIGS))
def test_voc_config_follows_the_recipe(name):
    cfg = parsed_config(osp.join(CONFIG_DIR, name))
    # SyncBN everywhere (tests swap it for BN)
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    assert cfg.model.decode_head.norm_cfg.type == 'SyncBN'
    # BGR in [0, 1], labels padded with the ignore index
    pre = cfg.model.data_preprocessor
    assert pre.mean == [0, 0, 0] and pre.std == [255, 255, 255]
    assert pre.bgr_to_rgb is False and pre.seg_pad_val == 255
    assert tuple(pre.size) == (512, 512)
    # VOC 2012 + SBD aug, as mmseg's pascal_voc12_aug (+ COCO in the
    # voc12aug-coco configs); 32 images per GPU and update (16 x 2 steps of
    # gradient accumulation in the OS8 config, as ml-cvnets HEAD)
    train = cfg.train_dataloader
    accumulate = cfg.optim_wrapper.get('accumulative_counts', 1)
    assert train.batch_size * accumulate == 32
    datasets = train.dataset.datasets
    assert len(datasets) == (3 if '_voc12aug-coco-' in name else 2)
    assert [d.data_prefix.seg_map_path for d in datasets[:2]
            ] == ['SegmentationClass', 'SegmentationClassAug']
    assert all(d.data_root == 'data/VOCdevkit/VOC2012' for d in datasets[:2])
    crop = [t for t in datasets[0].pipeline if t.type == 'RandomCrop']
    assert tuple(crop[0].crop_size) == (512, 512)
    assert cfg.val_evaluator.type == 'IoUMetric'
    # 50 epochs, AdamW wd 0.01, warm-up + cosine, head lr x10, EMA
    assert cfg.train_cfg.max_epochs == 50
    opt = cfg.optim_wrapper
    assert opt.optimizer.type == 'AdamW'
    assert opt.optimizer.weight_decay == 0.01
    assert opt.paramwise_cfg.custom_keys.decode_head.lr_mult == 10
    assert [s.type
            for s in cfg.param_scheduler] == ['LinearLR', 'CosineAnnealingLR']
    assert [h.type for h in cfg.custom_hooks] == ['EMAHook']
    # mmengine's auto-scale counts GPUs x batch_size per step
    assert cfg.auto_scale_lr.base_batch_size == 4 * train.batch_size


@pytest.mark.parametrize('name', sorted(VOC_CONFIGS))
def test_param_counts_match_the_paper(name):
    expected, _ = VOC_CONFIGS[name]
    model = build_segmentor(name, auxiliary_head=None)
    params = (num_params(model.backbone) + num_params(model.decode_head))
    assert params / 1e6 == pytest.approx(expected, rel=0.01)
    # and tighter than the acceptance bound: counts are exact here
    assert params / 1e6 == pytest.approx(expected, abs=5e-4)


def test_os8_config_has_the_aux_head_on_stage3():
    model = build_segmentor(
        'deeplabv3_mobilevit/deeplabv3-aspp512_mobilevit-s-d8_4xb16-accum2-50e_voc12aug-coco-512x512.py')
    aux = model.auxiliary_head
    assert aux.in_channels == 128 and aux.in_index == 0
    # 3x3 conv 128->128 + BN, 1x1 classifier: ml-cvnets' 0.151 M
    assert num_params(aux) == 128 * 128 * 9 + 2 * 128 + 128 * 21 + 21
    assert aux.loss_decode.loss_weight == 0.4
    assert model.decode_head.dilations == (1, 12, 24, 36)
    assert model.decode_head.channels == 512


def test_os8_config_follows_the_cvnets_head_recipe():
    """ml-cvnets HEAD `pascal_voc/deeplabv3_mobilevit.yaml`: 16 per GPU x 2
    accumulation steps, VOC + SBD + COCO, rotation and photometric
    augmentation, logits upsampled with align_corners=True."""
    cfg = parsed_config(
        osp.join(CONFIG_DIR, 'deeplabv3_mobilevit/deeplabv3-aspp512_mobilevit-s-d8_4xb16-accum2-'
                 '50e_voc12aug-coco-512x512.py'))
    assert cfg.train_dataloader.batch_size == 16
    assert cfg.optim_wrapper.accumulative_counts == 2
    assert cfg.model.decode_head.align_corners is True
    assert cfg.model.auxiliary_head.align_corners is True
    datasets = cfg.train_dataloader.dataset.datasets
    assert datasets[2].data_root == 'data/coco_voc'
    for dataset in datasets:
        steps = {t.type: t for t in dataset.pipeline}
        assert steps['RandomRotate'].degree == 10
        assert steps['RandomRotate'].seg_pad_val == 255
        assert 'PhotoMetricDistortion' in steps
        assert steps['RandomCrop'].cat_max_ratio == 0.75
        # short side U[256, 768], long side at most 1024
        assert steps['RandomResize'].scale == [(1024, 256), (1024, 768)]


@pytest.mark.parametrize('name', sorted(VOC_CONFIGS))
def test_logits_and_predictions_at_512(name):
    _, out_stride = VOC_CONFIGS[name]
    model = build_segmentor(name).eval()
    logits = []  # the classifier's output, before any resizing
    model.decode_head.conv_seg.register_forward_hook(
        lambda module, args, out: logits.append(out))
    image = torch.randint(0, 256, (3, 512, 512), dtype=torch.uint8)
    sample = SegDataSample(
        metainfo=dict(img_shape=(512, 512), ori_shape=(512, 512)))
    with torch.no_grad():
        (pred, ) = model.test_step(dict(inputs=[image], data_samples=[sample]))
    side = 512 // out_stride
    assert logits[0].shape == (1, 21, side, side)
    assert pred.seg_logits.data.shape == (21, 512, 512)
    assert pred.pred_sem_seg.data.shape == (1, 512, 512)


def test_predictions_come_back_at_the_original_size():
    # a non-square image that is not a multiple of the output stride
    model = build_segmentor(
        'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_4xb32-50e_voc12aug-512x512.py').eval()
    image = torch.randint(0, 256, (3, 200, 301), dtype=torch.uint8)
    sample = SegDataSample(
        metainfo=dict(img_shape=(200, 301), ori_shape=(200, 301)))
    with torch.no_grad():
        (pred, ) = model.test_step(dict(inputs=[image], data_samples=[sample]))
    assert pred.pred_sem_seg.data.shape == (1, 200, 301)


def test_training_step_on_a_voc_config_reduces_the_loss():
    model = build_segmentor(
        'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_4xb32-50e_voc12aug-512x512.py')
    torch.manual_seed(SEED)
    # (the config's preprocessor would pad to the 512x512 crop: skip it)
    images = torch.rand(2, 3, 64, 64)
    label = torch.zeros(1, 64, 64, dtype=torch.long)
    label[:, 16:48, 16:48] = 15
    label[:, 15, :] = 255  # ignore band
    samples = [
        SegDataSample(
            metainfo=dict(img_shape=(64, 64)),
            gt_sem_seg=PixelData(data=label)) for _ in range(2)
    ]
    optim = torch.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(6):
        loss = model.loss(images, samples)['decode.loss_ce']
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    assert all(b < a for a, b in zip(losses, losses[1:])), losses
    assert losses[-1] < 0.7 * losses[0], losses


def test_shapes_config_matches_the_generated_dataset():
    from mmvit.datasets.shapes import SHAPE_CLASSES
    from mmvit.datasets.shapes import ShapesSegDataset
    assert ShapesSegDataset.METAINFO['classes'] == ('background',
                                                    *SHAPE_CLASSES)
    names = [n for n in ALL_CONFIGS if 'shapes' in n]
    assert names, 'no DeepLabv3 config for the generated shapes data'
    for name in names:
        cfg = parsed_config(osp.join(CONFIG_DIR, name))
        for loader in (cfg.train_dataloader, cfg.val_dataloader):
            assert loader.dataset.type == 'mmvit.ShapesSegDataset'
            assert loader.dataset.data_root == 'data/shapes'
        assert cfg.model.decode_head.num_classes == 1 + len(SHAPE_CLASSES)
        assert cfg.model.backbone.norm_cfg.type == 'BN'  # runs on one CPU


def test_released_cvnets_layout_loads_into_the_segmentor():
    """Every parameter and buffer of the segmentor has a counterpart in
    ml-cvnets' DeepLabv3 checkpoint layout (``encoder.*``,
    ``seg_head.aspp.aspp_layer.convs.{0..4}``, ``...project``,
    ``seg_head.classifier``), and a checkpoint in that layout loads back
    strictly and predicts the same logits."""
    from mmvit.converters import cvnets_to_mmvit, mmvit_to_cvnets
    name = 'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_4xb32-50e_voc12aug-512x512.py'
    source = build_segmentor(name).eval()
    for module in source.modules():  # non-trivial BN statistics
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-.1, .1)
            module.running_var.uniform_(.5, 1.5)
    cvnets = mmvit_to_cvnets(source.state_dict())
    assert 'seg_head.aspp.aspp_layer.convs.4.aspp_pool.conv_1x1.block.conv.' \
        'weight' in cvnets
    assert 'seg_head.aspp.aspp_layer.project.block.norm.running_var' in cvnets
    assert cvnets['seg_head.classifier.block.conv.weight'].shape == (21, 256,
                                                                     1, 1)
    assert all(k.startswith(('encoder.', 'seg_head.'))
               for k in cvnets), list(cvnets)

    target = build_segmentor(name).eval()
    target.load_state_dict(cvnets_to_mmvit(cvnets), strict=True)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        expected = source.decode_head(source.extract_feat(x))
        actual = target.decode_head(target.extract_feat(x))
    assert torch.equal(expected, actual)


# ---------------------------------------------- batch-of-one guard (ASPP)
@pytest.mark.parametrize('kind', ['BN', 'SyncBN', 'BatchNormXd'])
def test_aspp_pool_batch_of_one_guard_covers_every_batch_norm(kind):
    from mmengine.model import revert_sync_batchnorm
    norm = dict(type='SyncBN' if kind != 'BN' else 'BN', requires_grad=True)
    head = make_head(norm_cfg=norm)
    if kind == 'BatchNormXd':
        head = revert_sync_batchnorm(head)
    expected = dict(
        BN=nn.BatchNorm2d, SyncBN=nn.SyncBatchNorm, BatchNormXd=None)[kind]
    pool_norm = head.aspp_convs[-1].conv.norm
    if expected is None:
        assert type(pool_norm).__name__ == '_BatchNormXd'
    else:
        assert isinstance(pool_norm, expected)
    head.train()
    with pytest.raises(ValueError,
                       match='batch of one image.*ASPP image-pool.*drop_last'):
        head([torch.rand(1, 16, 8, 8)])
    assert head([torch.rand(2, 16, 8, 8)]).shape == (2, 5, 8, 8)
    head.eval()
    assert head([torch.rand(1, 16, 8, 8)]).shape == (1, 5, 8, 8)
    # GroupNorm normalises within the image: no batch constraint
    gn = make_head(norm_cfg=dict(type='GN', num_groups=4)).train()
    assert gn([torch.rand(1, 16, 8, 8)]).shape == (1, 5, 8, 8)


# ---------------------------------------------- bf16 autocast (GPU readiness)
BF16_ROUNDOFF = torch.finfo(torch.bfloat16).eps / 2  # 2**-8


def _shapes_batch(size: int = 128):
    from conftest import torch_generator
    gen = torch_generator(5)
    images = torch.rand(2, 3, size, size, generator=gen) * 255
    labels = torch.randint(0, 4, (2, 1, size // 16, size // 16), generator=gen)
    labels = labels.repeat_interleave(16, -1).repeat_interleave(16, -2)
    samples = [
        SegDataSample(
            metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                          pad_shape=(size, size)),
            gt_sem_seg=PixelData(data=label)) for label in labels
    ]
    return images, samples


def test_bf16_autocast_train_step_and_predict():
    """A bf16 autocast step gives a finite float32 loss; bf16 predictions
    agree with float32 wherever float32's decision is not within bf16
    rounding.

    Bound: autocast rounds the inputs and outputs of each of the ``L``
    convolutions / linear layers to bf16 (unit roundoff ``u = 2**-8``);
    independent roundings add up like a random walk, so the logits move by
    about ``sqrt(2 L) u`` of their largest magnitude (as
    :data:`numerics.REL` is derived for float32). A pixel's label may flip
    only where float32's two best logits are closer than twice that; the
    fraction of such pixels is the allowed fraction of flipped labels
    (observed: 0.1-2% flipped, 0.0138-0.0187 relative error under a bound of
    0.048, over two seeds)."""
    from conftest import randomize_norms
    from numerics import relative_error
    model = build_segmentor(
        'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_1xb8-2e_shapes-256x256.py')
    images, samples = _shapes_batch()
    model.train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(images, samples)
    loss = losses['decode.loss_ce']
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)

    model.eval()
    randomize_norms(model)
    # (predict writes into the samples it is given: one copy per call)
    with torch.no_grad():
        fp32 = model.predict(images, copy.deepcopy(samples))
        with torch.autocast('cpu', dtype=torch.bfloat16):
            bf16 = model.predict(images, copy.deepcopy(samples))
    num_layers = sum(
        isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())
    rel = (2 * num_layers)**0.5 * BF16_ROUNDOFF
    seg_fp32 = torch.stack([p.seg_logits.data for p in fp32])  # [B, K, H, W]
    seg_bf16 = torch.stack([p.seg_logits.data for p in bf16])
    assert relative_error(seg_bf16, seg_fp32) <= rel
    margin = 2 * rel * float(seg_fp32.abs().max())
    top2 = seg_fp32.topk(2, dim=1).values
    near_tied = (top2[:, 0] - top2[:, 1]) <= margin  # [B, H, W]
    allowed = float(near_tied.float().mean())
    labels_fp32 = torch.cat([p.pred_sem_seg.data for p in fp32])
    labels_bf16 = torch.cat([p.pred_sem_seg.data for p in bf16])
    flipped = labels_fp32 != labels_bf16
    # random weights give logits close together: most pixels are decided
    # all the same, and every decided one keeps its label
    assert allowed < 0.75, f'{allowed:.3f} of the pixels are near-tied'
    assert not (flipped & ~near_tied).any()
    assert float(flipped.float().mean()) <= allowed, (
        f'{float(flipped.float().mean()):.4f} of the labels flipped, '
        f'{allowed:.4f} allowed (rel {rel:.3g})')
