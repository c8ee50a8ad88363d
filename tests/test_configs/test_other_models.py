"""MobileViT-S in detectors and segmentors of the host toolboxes: mmdet's
RetinaNet and Mask R-CNN (FPN), mmseg's semantic FPN and UPerNet at output
stride 32 and 16.

Each config inherits the toolbox's shipped config and may differ from it only
where a MobileViT backbone needs it (the test diffs the two); its wiring is
derived from ``MobileViT.arch_out_channels``; its model builds and returns
maps at the strides its heads are built for; and (slow tests) the real
Runner trains it for a few iterations on the generated shapes data, every
trainable parameter gets a gradient, and the toolbox's metric evaluates it.
"""
import copy
import os.path as osp
import re

import numpy as np
import pytest
import torch
from conftest import SEED, parsed_config
from mmengine.config import Config

pytest.importorskip('mmdet')
pytest.importorskip('mmseg')

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO_ROOT, 'configs')

RETINANET = 'retinanet_mobilevit/retinanet_mobilevit-s_fpn_1x_coco.py'
MASK_RCNN = 'mask-rcnn_mobilevit/mask-rcnn_mobilevit-s_fpn_1x_coco.py'
FPN = 'fpn_mobilevit/fpn_mobilevit-s_4xb4-80k_ade20k-512x512.py'
FPN_D16 = 'fpn_mobilevit/fpn_mobilevit-s-d16_4xb4-80k_ade20k-512x512.py'
UPERNET = 'upernet_mobilevit/upernet_mobilevit-s_4xb4-80k_ade20k-512x512.py'
UPERNET_D16 = ('upernet_mobilevit/'
               'upernet_mobilevit-s-d16_4xb4-80k_ade20k-512x512.py')
DET_CONFIGS = (RETINANET, MASK_RCNN)
SEG_CONFIGS = (FPN, FPN_D16, UPERNET, UPERNET_D16)
ALL_CONFIGS = DET_CONFIGS + SEG_CONFIGS

# Backbone stage indices and the strides of the maps the model's heads read
# (after the neck for mmdet, the backbone's for mmseg).
LEVELS = {
    RETINANET: dict(out_indices=(2, 3, 4), strides=(8, 16, 32, 64, 128)),
    MASK_RCNN: dict(out_indices=(1, 2, 3, 4), strides=(4, 8, 16, 32, 64)),
    FPN: dict(out_indices=(1, 2, 3, 4), strides=(4, 8, 16, 32)),
    FPN_D16: dict(out_indices=(1, 2, 3, 4), strides=(4, 8, 16, 16)),
    UPERNET: dict(out_indices=(1, 2, 3, 4), strides=(4, 8, 16, 32)),
    UPERNET_D16: dict(out_indices=(1, 2, 3, 4), strides=(4, 8, 16, 16)),
}

# What each config inherits and the only keys it may change there (each
# with everything below it).
_INPUT = tuple(f'{where}data_preprocessor.{key}'
               for where in ('model.', '')  # mmseg names it at top level too
               for key in ('mean', 'std', 'bgr_to_rgb'))
_NEW = ('custom_imports', 'pretrained', 'model.backbone')
_MMDET_OPTIM = ('optim_wrapper.optimizer', )
# mmseg's optimizer and poly decay are SGD's; the FPN config also takes
# mmseg's 80k schedule instead of the 160k one of its shipped ADE20K config
_MMSEG_OPTIM = ('optimizer', 'optim_wrapper.optimizer',
                'optim_wrapper.paramwise_cfg', 'param_scheduler',
                'auto_scale_lr', 'model.pretrained')
_80K = ('train_cfg.max_iters', 'train_cfg.val_interval',
        'default_hooks.checkpoint.interval')
INHERITS = {
    RETINANET:
    ('mmdet::retinanet/retinanet_r50_fpn_1x_coco.py', _NEW + _INPUT +
     _MMDET_OPTIM + ('model.neck.in_channels', 'model.neck.start_level')),
    MASK_RCNN: ('mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
                _NEW + _INPUT + _MMDET_OPTIM + ('model.neck.in_channels', )),
    FPN: ('mmseg::sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512.py',
          _NEW + _INPUT + _MMSEG_OPTIM + _80K + ('model.neck.in_channels', )),
    UPERNET:
    ('mmseg::upernet/upernet_r50_4xb4-80k_ade20k-512x512.py',
     _NEW + _INPUT + _MMSEG_OPTIM +
     ('model.decode_head.in_channels', 'model.auxiliary_head.in_channels')),
    FPN_D16:
    (FPN, ('model.backbone.out_stride', 'model.decode_head.feature_strides')),
    UPERNET_D16: (UPERNET, ('model.backbone.out_stride', )),
}

# ml-cvnets' AdamW rate for a total batch of 128, which the configs scale
RECIPE_LR, RECIPE_BATCH = 9e-4, 128


def _load(name: str) -> Config:
    """A fresh copy of the config (parsed once: reading `mmdet::` /
    `mmseg::` bases takes seconds)."""
    if '::' in name:  # a config shipped with a toolbox, as `_base_` reads it
        import importlib
        package, name = name.split('::')
        root = osp.dirname(importlib.import_module(package).__file__)
        return parsed_config(osp.join(root, '.mim', 'configs', name))
    return parsed_config(osp.join(CONFIGS, name))


def _unscoped(node):
    """``node`` without the ``_scope_`` keys mmengine adds to what a config
    inherits across packages (``mmdet::...``)."""
    if isinstance(node, dict):
        return {k: _unscoped(v) for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return type(node)(_unscoped(v) for v in node)
    return node


def _flatten(node, prefix: str = '') -> dict:
    """``{'a.b.c': leaf}`` of nested dicts; lists are leaves."""
    if not isinstance(node, dict):
        return {prefix[:-1]: node}
    flat = {}
    for key, value in node.items():
        flat.update(_flatten(value, f'{prefix}{key}.'))
    return flat


def _allowed(key: str, allowed) -> bool:
    """Whether ``key`` is one of ``allowed`` or lies below one."""
    return any(key == a or key.startswith(a + '.') for a in allowed)


def _arch_channels(backbone: dict) -> tuple:
    from mmvit.models.backbones.mobilevit import MobileViT
    return MobileViT.arch_out_channels(backbone['arch'],
                                       backbone['out_indices'], 4)


def _build(cfg: Config):
    from mmvit.apis import build_model
    return build_model(cfg)


# ------------------------------------------------------------- the configs
@pytest.mark.parametrize('name', ALL_CONFIGS)
def test_config_changes_only_what_the_backbone_needs(name):
    base_name, allowed = INHERITS[name]
    cfg, base = (
        _flatten(_unscoped(_load(n).to_dict())) for n in (name, base_name))
    changed = sorted(
        k for k in set(cfg) | set(base)
        if cfg.get(k, KeyError) != base.get(k, KeyError))
    assert changed, 'the config repeats its base'
    unexpected = [k for k in changed if not _allowed(k, allowed)]
    assert not unexpected, unexpected


@pytest.mark.parametrize('name', ALL_CONFIGS)
def test_wiring_follows_the_arch_table(name):
    model = _load(name).model
    backbone = model.backbone
    assert backbone.type == 'mmvit.MobileViT' and backbone.arch == 'small'
    assert tuple(backbone.out_indices) == LEVELS[name]['out_indices']
    channels = list(_arch_channels(backbone))
    if 'neck' in model:  # mmdet's and mmseg's FPN
        assert list(model.neck.in_channels) == channels
    else:  # UPerNet reads the backbone maps, its FCN auxiliary one of them
        assert list(model.decode_head.in_channels) == channels
        aux = model.auxiliary_head
        assert aux.in_channels == channels[aux.in_index]
    init = backbone.init_cfg
    assert init.type == 'Pretrained' and init.prefix == 'backbone.'
    assert init.checkpoint == 'checkpoints/mobilevit-small_in1k_mmvit.pth'
    # ml-cvnets' ImageNet weights take BGR in [0, 1]
    preprocessor = model.data_preprocessor
    assert preprocessor.mean == [0.] * 3 and preprocessor.std == [255.] * 3
    assert preprocessor.bgr_to_rgb is False


@pytest.mark.parametrize('name', ALL_CONFIGS)
def test_optimizer_is_the_mobilevit_recipe_scaled_to_the_batch(name):
    cfg = _load(name)
    batch = cfg.auto_scale_lr.base_batch_size
    match = re.search(r'_(\d+)xb(\d+)-', osp.basename(name))
    if match:  # mmseg names say GPUs x images
        assert batch == int(match[1]) * int(match[2])
        assert cfg.train_dataloader.batch_size == int(match[2])
        iters = re.search(r'-(\d+)k_', osp.basename(name))
        assert cfg.train_cfg.max_iters == int(iters[1]) * 1000
        assert cfg.param_scheduler[-1].end == cfg.train_cfg.max_iters
        assert cfg.param_scheduler[-1].eta_min == 0.
    else:  # mmdet's 1x: 8 GPUs x 2 images, 12 epochs
        assert batch == 16 and cfg.train_dataloader.batch_size == 2
        assert cfg.train_cfg.max_epochs == 12
    optimizer = cfg.optim_wrapper.optimizer
    assert optimizer.type == 'AdamW' and optimizer.weight_decay == 0.01
    assert optimizer.lr == pytest.approx(RECIPE_LR * batch / RECIPE_BATCH)
    assert set(optimizer) == {'type', 'lr', 'betas', 'weight_decay'}


@pytest.mark.parametrize('name', ALL_CONFIGS)
def test_model_maps_have_the_strides_its_heads_expect(name):
    cfg = _load(name)
    model = _build(cfg)
    size = (128, 256)
    x = torch.rand(1, 3, *size)
    with torch.no_grad():
        maps = model.extract_feat(x)
    strides = LEVELS[name]['strides']
    assert [tuple(m.shape[2:]) for m in maps
            ] == [(-(-size[0] // s), -(-size[1] // s)) for s in strides]
    if name in DET_CONFIGS:
        assert all(m.shape[1] == cfg.model.neck.out_channels for m in maps)
        return
    if 'neck' not in cfg.model:
        assert [m.shape[1]
                for m in maps] == list(_arch_channels(cfg.model.backbone))
    with torch.no_grad():
        logits = model(x, mode='tensor')
    assert logits.shape == (1, 150, size[0] // 4, size[1] // 4)


@pytest.mark.parametrize('name', (RETINANET, MASK_RCNN, FPN, UPERNET))
def test_first_run_names_the_weights_to_convert(name, tmp_path, monkeypatch):
    """Without the converted ImageNet weights (and the data) the config
    stops before building anything, with the converter command."""
    from mmvit.apis import load_config
    from mmvit.preflight import check_config
    monkeypatch.chdir(tmp_path)  # the config's relative paths: all missing
    with pytest.raises(FileNotFoundError) as info:
        check_config(load_config(osp.join(CONFIGS, name)), 'train')
    message = str(info.value)
    assert ('tools/model_converters/mobilevit2mmvit.py mobilevit_s.pt '
            'checkpoints/mobilevit-small_in1k_mmvit.pth') in message
    assert 'model.backbone.init_cfg=None' in message


# -------------------------------------------- training on generated shapes
@pytest.fixture(scope='module')
def shapes_root(tmp_path_factory):
    from mmvit.datasets.shapes import generate_shapes_dataset
    root = str(tmp_path_factory.mktemp('shapes'))
    generate_shapes_dataset(root, num_train=8, num_val=2, seed=SEED)
    return root


def _resize(pipeline: list, scale: tuple, **changes) -> list:
    """``pipeline`` with every resize to ``scale`` and ``changes`` (keyed by
    transform type) applied; copies only."""
    steps = []
    for step in copy.deepcopy(pipeline):
        if step['type'] in ('Resize', 'RandomResize'):
            # (a RandomResize between two scales keeps that form)
            step['scale'] = [scale, scale] if isinstance(
                step['scale'], list) else scale
        step.update(changes.get(step['type'], {}))
        steps.append(step)
    return steps


def _small_runs(cfg: Config, work_dir: str) -> None:
    """A few iterations in one process, no checkpoint files."""
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    cfg.randomness = dict(seed=SEED)
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint = None
    cfg.model.backbone.init_cfg = None  # no pretraining stage here
    cfg.pop('tta_model', None)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].batch_size = min(cfg[loader].batch_size, 2)
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False


def _det_config(name: str, root: str, work_dir: str) -> Config:
    cfg = _load(name)
    _small_runs(cfg, work_dir)
    with_mask = name == MASK_RCNN
    for split, loader in (('train', cfg.train_dataloader),
                          ('val', cfg.val_dataloader)):
        dataset = loader.dataset
        dataset.update(
            type='mmvit.ShapesDetDataset',
            data_root=root,
            ann_file=f'annotations/instances_{split}.json',
            data_prefix=dict(img=f'{split}/'),
            generate=False,
            pipeline=_resize(dataset.pipeline, (192, 128)))
    # the first 4 images that have objects (mmdet's filter_empty_gt)
    cfg.train_dataloader.dataset.indices = 4
    cfg.test_dataloader = cfg.val_dataloader
    cfg.val_evaluator.ann_file = osp.join(root,
                                          'annotations/instances_val.json')
    cfg.test_evaluator = cfg.val_evaluator
    num_classes = 3  # SHAPE_CLASSES
    if with_mask:
        cfg.model.roi_head.bbox_head.num_classes = num_classes
        cfg.model.roi_head.mask_head.num_classes = num_classes
        # barely trained scores sit below mmdet's threshold of 0.05, and
        # the metric must see detections
        cfg.model.test_cfg.rcnn.score_thr = 0.
        # RoIs for 128 px images, not for 800 px ones: the RoI heads (and
        # CPU RoIAlign) would take most of the run
        cfg.model.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=100)
        cfg.model.train_cfg.rcnn.sampler.num = 64
        cfg.model.test_cfg.rpn.update(nms_pre=200, max_per_img=100)
        cfg.model.test_cfg.rcnn.max_per_img = 20
    else:
        cfg.model.bbox_head.num_classes = num_classes
        cfg.model.test_cfg.score_thr = 0.
    cfg.train_cfg.max_epochs = 1
    cfg.train_cfg.val_interval = 1
    return cfg


def _seg_config(name: str, root: str, work_dir: str) -> Config:
    cfg = _load(name)
    _small_runs(cfg, work_dir)
    keep_zero = {'LoadAnnotations': dict(reduce_zero_label=False)}
    crop = (128, 128)
    for split, loader in (('train', cfg.train_dataloader),
                          ('val', cfg.val_dataloader)):
        dataset = loader.dataset
        if 'datasets' in dataset:  # a ConcatDataset: its first part's
            dataset = dataset.datasets[0]
        pipeline = _resize(
            dataset.pipeline, (192, 128),
            RandomCrop=dict(crop_size=crop),
            Pad=dict(size=crop),
            **keep_zero)
        loader.dataset = dict(
            type='mmvit.ShapesSegDataset',
            data_root=root,
            data_prefix=dict(img_path=split, seg_map_path=f'masks/{split}'),
            ann_file=f'splits/{split}.txt',
            test_mode=split == 'val',
            generate=False,
            pipeline=pipeline)
    cfg.test_dataloader = cfg.val_dataloader
    cfg.model.data_preprocessor.size = crop
    num_classes = 4  # background + SHAPE_CLASSES
    cfg.model.decode_head.num_classes = num_classes
    if 'auxiliary_head' in cfg.model:
        cfg.model.auxiliary_head.num_classes = num_classes
    cfg.train_cfg.max_iters = 2
    cfg.train_cfg.val_interval = 2
    return cfg


def _train(cfg: Config):
    """Train with the real Runner (after mmvit's config checks, which must
    accept the wiring) while recording which parameters get a gradient."""
    from mmengine.runner import Runner

    from mmvit.preflight import check_config
    check_config(cfg, 'train')
    runner = Runner.from_cfg(cfg)  # the model as trained (SyncBN -> BN)
    trainable = {
        n: p
        for n, p in runner.model.named_parameters() if p.requires_grad
    }
    assert any(n.startswith('backbone.') for n in trainable)
    grads = {}  # name -> all gradients finite so far

    def record(name):

        def hook(grad):
            grads[name] = grads.get(name, True) and bool(
                torch.isfinite(grad).all())

        return hook

    handles = [p.register_hook(record(n)) for n, p in trainable.items()]
    try:
        runner.train()
    finally:
        for handle in handles:
            handle.remove()
    # what DDP with find_unused_parameters=False needs, and no inf / NaN
    missing = sorted(set(trainable) - set(grads))
    assert not missing, missing
    bad = sorted(n for n, ok in grads.items() if not ok)
    assert not bad, bad
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    return runner, np.asarray(losses)


@pytest.mark.slow
@pytest.mark.parametrize('name', DET_CONFIGS)
def test_detector_trains_and_evaluates_on_generated_shapes(
        name, shapes_root, tmp_path):
    cfg = _det_config(name, shapes_root, str(tmp_path / 'work'))
    runner, losses = _train(cfg)
    assert len(losses) == 2  # 4 images, batch 2, 1 epoch
    assert np.isfinite(losses).all() and (losses > 0).all(), losses
    hub = runner.message_hub
    for metric in ('bbox', 'segm') if name == MASK_RCNN else ('bbox', ):
        value = hub.get_scalar(f'val/coco/{metric}_mAP').current()
        assert 0. <= value <= 1.


@pytest.mark.slow
@pytest.mark.parametrize('name', SEG_CONFIGS)
def test_segmentor_trains_and_evaluates_on_generated_shapes(
        name, shapes_root, tmp_path):
    cfg = _seg_config(name, shapes_root, str(tmp_path / 'work'))
    runner, losses = _train(cfg)
    assert len(losses) == 2
    assert np.isfinite(losses).all() and (losses > 0).all(), losses
    assert 0. <= runner.message_hub.get_scalar('val/mIoU').current() <= 100.
