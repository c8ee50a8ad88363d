"""The "train on your own data" example configs, run as a user runs them.

* ``configs/ssdlite_mobilevit/ssdlite_mobilevit-s_finetune_custom-coco.py``
  on a generated 2-class COCO-format set, from a stand-in for the converted
  80-class COCO detector;
* ``configs/deeplabv3_mobilevit/
  deeplabv3_mobilevit-s-d16_finetune_custom-seg.py`` on a generated 3-class
  set in mmseg's folder layout, from a stand-in for the converted 21-class
  VOC segmentor.

Each is pointed at the data with ``--cfg-options`` (as ``tools/train.py``
builds it), trains a few iterations with the real runner and evaluates with
the toolbox's metric. What is checked about the start: after ``load_from``
every key whose shape the new classes do not change holds the checkpoint's
value, and exactly the class-dependent layers (``bbox_head.cls_convs.*``,
``decode_head.conv_seg``) keep the head's fresh initialisation, at the new
number of classes, with mmengine's "size mismatch" message naming them. The
ImageNet route (backbone ``init_cfg``, no ``load_from``) is checked too.
"""
import json
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch
from bad_inputs_helpers import loss_history, set_transform_args
from conftest import REPO_ROOT, SEED, load_tool, parsed_config, torch_generator

pytest.importorskip('mmdet')
pytest.importorskip('mmseg')

DET_CONFIG = osp.join(REPO_ROOT, 'configs', 'ssdlite_mobilevit',
                      'ssdlite_mobilevit-s_finetune_custom-coco.py')
SEG_CONFIG = osp.join(REPO_ROOT, 'configs', 'deeplabv3_mobilevit',
                      'deeplabv3_mobilevit-s-d16_finetune_custom-seg.py')
# the models the converted checkpoints are of (80 COCO / 21 VOC classes)
COCO_CONFIG = osp.join(REPO_ROOT, 'configs', 'ssdlite_mobilevit',
                       'ssdlite_mobilevit-s_4xb32-200e_coco.py')
VOC_CONFIG = osp.join(REPO_ROOT, 'configs', 'deeplabv3_mobilevit',
                      'deeplabv3_mobilevit-s-d16_4xb32-50e_voc12aug-512x512.py')

train_tool = load_tool('train.py')


# ------------------------------------------------------------------ data
@pytest.fixture(scope='module')
def shapes_root(tmp_path_factory) -> str:
    """The generated shapes set (3 classes, COCO json and masks), small."""
    from mmvit.datasets.shapes import generate_shapes_dataset
    root = str(tmp_path_factory.mktemp('shapes'))
    generate_shapes_dataset(root, num_train=12, num_val=4, seed=SEED)
    return root


def _example_classes(config: str):
    return tuple(parsed_config(config).train_dataloader.dataset.metainfo
                 ['classes'])


def _write_two_class_coco(shapes: str, root: str, classes) -> None:
    """The shapes set as a user's 2-class COCO set: rectangles and ellipses
    become ``classes[0]`` and ``classes[1]`` (category ids 1 and 2, as the
    generator numbers them), triangles are left unannotated."""
    assert len(classes) == 2
    os.makedirs(osp.join(root, 'annotations'))
    for split in ('train', 'val'):
        shutil.copytree(osp.join(shapes, split), osp.join(root, split))
        name = f'instances_{split}.json'
        with open(osp.join(shapes, 'annotations', name)) as f:
            coco = json.load(f)
        coco['categories'] = [
            dict(id=i + 1, name=c, supercategory='object')
            for i, c in enumerate(classes)
        ]
        coco['annotations'] = [
            a for a in coco['annotations'] if a['category_id'] in (1, 2)
        ]
        with open(osp.join(root, 'annotations', name), 'w') as f:
            json.dump(coco, f)


def _write_seg_folders(shapes: str, root: str, lut: np.ndarray) -> None:
    """The shapes set in mmseg's folder layout (``img_dir/{split}/*.jpg``,
    ``ann_dir/{split}/*.png``), each mask value ``v`` written as
    ``lut[v]``."""
    for split in ('train', 'val'):
        os.makedirs(osp.join(root, 'img_dir', split))
        os.makedirs(osp.join(root, 'ann_dir', split))
        with open(osp.join(shapes, 'splits', f'{split}.txt')) as f:
            stems = f.read().split()
        for stem in stems:
            shutil.copy(
                osp.join(shapes, split, stem + '.jpg'),
                osp.join(root, 'img_dir', split, stem + '.jpg'))
            mask = cv2.imread(
                osp.join(shapes, 'masks', split, stem + '.png'),
                cv2.IMREAD_UNCHANGED)
            cv2.imwrite(
                osp.join(root, 'ann_dir', split, stem + '.png'), lut[mask])


def _lut(pairs: dict) -> np.ndarray:
    """A uint8 lookup table: 255 except for the ``{value: label}`` pairs."""
    lut = np.full(256, 255, np.uint8)
    for value, label in pairs.items():
        lut[value] = label
    return lut


# ------------------------------------------------------------ checkpoints
def _random_checkpoint(config: str, path: str, offset: int) -> dict:
    """Save the state dict of ``config``'s model with every float tensor
    drawn at random, as a converted checkpoint stands in; return it.

    The draws have the scale of trained weights (weights ~ N(0, 1/fan_in),
    norm scales ~ 1 + N(0, 0.01), biases and means ~ N(0, 0.01), variances
    in [0.75, 1.25]), so that the model's outputs stay in range. Random
    values cannot equal a fresh initialisation, so a loaded key and an
    initialised one tell apart."""
    from mmvit.apis import build_model
    model = build_model(config, cfg_options={'model.backbone.init_cfg': None})
    gen = torch_generator(offset)
    state = {}
    for key, value in model.state_dict().items():
        if value.is_floating_point():
            noise = torch.randn(value.shape, generator=gen)
            if key.endswith('running_var'):
                value = 1 + 0.25 * (2 * torch.rand(value.shape, generator=gen)
                                    - 1)
            elif value.dim() > 1:  # conv / linear weights
                value = noise / np.sqrt(value[0].numel())
            elif key.endswith('weight'):  # BN / LN scales
                value = 1 + 0.1 * noise
            else:  # biases, running means
                value = 0.1 * noise
        state[key] = value.clone()
    torch.save(dict(meta=dict(source=osp.basename(config)), state_dict=state),
               path)
    return state


def _imagenet_checkpoint(config: str, path: str, offset: int) -> dict:
    """A stand-in for a converted ImageNet classifier: the backbone of
    ``config``'s model under ``backbone.`` with random weights, and a
    1000-class ``head.fc``."""
    state = _random_checkpoint(config, path, offset)
    state = {k: v for k, v in state.items() if k.startswith('backbone.')}
    gen = torch_generator(offset + 1)
    state['head.fc.weight'] = torch.randn(1000, 640, generator=gen)
    state['head.fc.bias'] = torch.randn(1000, generator=gen)
    torch.save(dict(meta=dict(), state_dict=state), path)
    return state


# ---------------------------------------------------------------- runs
def _loader_options(train_batch: int, val_batch: int) -> list:
    options = [f'train_dataloader.batch_size={train_batch}']
    for loader in ('val_dataloader', 'test_dataloader'):
        options.append(f'{loader}.batch_size={val_batch}')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options += [
            f'{loader}.num_workers=0', f'{loader}.persistent_workers=False'
        ]
    # no batch of one: BN over SSDLite's / ASPP's 1x1 global maps
    return options + ['train_dataloader.drop_last=True']


_SHORT_RUN = [
    'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
    'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=-1',
    'default_hooks.checkpoint.save_last=False',
    'default_hooks.checkpoint.save_best=None', f'randomness.seed={SEED}'
]


def _config(config: str, work_dir: str, options: list, check: bool = True):
    """``config`` as ``tools/train.py CONFIG --cfg-options ...`` builds it,
    after the same checks (``check``)."""
    from mmvit.preflight import check_config
    cfg = train_tool.build_config(
        train_tool.parse_args(
            [config, '--work-dir', work_dir, '--cfg-options', *options]))
    if check:
        check_config(cfg, 'train')  # classes against num_classes, files
    return cfg


def _spy_on_loading(runner) -> dict:
    """Record the model's state just before and after ``load_from`` is
    loaded (``Runner.train`` initialises the weights, then loads)."""
    states = {}
    load = runner.load_or_resume

    def load_or_resume():
        states['initialised'] = {
            k: v.clone()
            for k, v in runner.model.state_dict().items()
        }
        load()
        states['loaded'] = {
            k: v.clone()
            for k, v in runner.model.state_dict().items()
        }

    runner.load_or_resume = load_or_resume
    return states


def _check_start(states: dict, checkpoint: dict, class_keys: set,
                 printed: str) -> None:
    """Every key the classes do not change holds the checkpoint's value;
    exactly ``class_keys`` differ in shape and keep the initialisation, with
    mmengine's message naming each of them, printed for the model and for
    its EMA copy (the examples' EMAHook loads the checkpoint too)."""
    initialised, loaded = states['initialised'], states['loaded']
    assert set(loaded) == set(checkpoint)
    misshapen = {
        k
        for k in checkpoint if checkpoint[k].shape != loaded[k].shape
    }
    assert misshapen == class_keys
    for key in set(checkpoint) - misshapen:
        assert torch.equal(loaded[key], checkpoint[key]), key
    for key in misshapen:
        assert torch.equal(loaded[key], initialised[key]), key
        assert printed.count(f'size mismatch for {key}:') == 2, key
    assert 'missing keys in source state_dict' not in printed
    assert 'unexpected key in source state_dict' not in printed


@pytest.mark.slow
def test_det_example_fine_tunes_from_coco_on_two_classes(
        shapes_root, tmp_path, capsys):
    from mmvit.apis import build_runner
    classes = _example_classes(DET_CONFIG)
    assert len(classes) == 2  # "another number of classes" than COCO's 80
    root = str(tmp_path / 'custom_coco')
    _write_two_class_coco(shapes_root, root, classes)
    checkpoint = _random_checkpoint(COCO_CONFIG, str(tmp_path / 'coco.pth'),
                                    offset=1)
    ann_val = osp.join(root, 'annotations', 'instances_val.json')
    options = [
        f'{loader}.dataset.data_root={root}/'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ] + [
        f'val_evaluator.ann_file={ann_val}',
        f'test_evaluator.ann_file={ann_val}',
        f'load_from={tmp_path / "coco.pth"}',
        'train_dataloader.dataset.indices=4'  # 2 iterations
    ] + _loader_options(2, 2) + _SHORT_RUN
    cfg = _config(DET_CONFIG, str(tmp_path / 'work'), options)
    assert cfg.model.bbox_head.num_classes == 2
    assert cfg.model.backbone.init_cfg is None  # the backbone is loaded

    runner = build_runner(cfg)
    states = _spy_on_loading(runner)
    capsys.readouterr()
    runner.train()
    printed = capsys.readouterr().out

    head = runner.model.bbox_head
    class_keys = {
        f'bbox_head.cls_convs.{i}.{p}'
        for i in range(len(head.cls_convs)) for p in ('weight', 'bias')
    }
    _check_start(states, checkpoint, class_keys, printed)
    for i, anchors in enumerate(head.num_base_priors):
        weight = states['loaded'][f'bbox_head.cls_convs.{i}.weight']
        # anchors x (2 classes + background) outputs
        assert weight.shape == (anchors * 3, head.proj_channels[i], 1, 1)
        # the head's init (Xavier, bias 0), not PyTorch's default
        assert not states['loaded'][f'bbox_head.cls_convs.{i}.bias'].any()
        assert weight.abs().max() <= np.sqrt(6 / sum(weight.shape[:2]))

    losses = loss_history(runner)
    assert len(losses) == 2 and np.isfinite(losses).all(), losses
    metric = runner.val_evaluator.metrics[0]
    assert type(metric).__name__ == 'CocoMetric'
    assert metric.dataset_meta['classes'] == classes
    assert metric.cat_ids == [1, 2]
    mapped = runner.message_hub.get_scalar('val/coco/bbox_mAP').current()
    assert 0. <= mapped <= 1.


@pytest.mark.slow
def test_seg_example_fine_tunes_from_voc_on_three_classes(
        shapes_root, tmp_path, capsys):
    from mmvit.apis import build_runner
    classes = _example_classes(SEG_CONFIG)
    assert len(classes) == 3 and classes[0] == 'background'
    root = str(tmp_path / 'custom_seg')
    # background 0, rectangles 1, ellipses 2; triangles and the generator's
    # outline band unlabelled (255)
    _write_seg_folders(shapes_root, root, _lut({0: 0, 1: 1, 2: 2}))
    checkpoint = _random_checkpoint(VOC_CONFIG, str(tmp_path / 'voc.pth'),
                                    offset=2)
    options = [
        f'{loader}.dataset.data_root={root}'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ] + [
        f'load_from={tmp_path / "voc.pth"}',
        'train_dataloader.dataset.indices=4'  # 2 iterations
    ] + _loader_options(2, 1) + _SHORT_RUN
    cfg = _config(SEG_CONFIG, str(tmp_path / 'work'), options)
    assert cfg.model.decode_head.num_classes == 3
    # 128 crops instead of 512, for a CPU (the test resize scaled alike)
    set_transform_args(
        cfg.train_dataloader.dataset.pipeline, 'RandomResize',
        scale=(512, 128))
    set_transform_args(
        cfg.train_dataloader.dataset.pipeline, 'RandomCrop',
        crop_size=(128, 128))
    set_transform_args(
        cfg.val_dataloader.dataset.pipeline, 'Resize', scale=(512, 128))
    cfg.model.data_preprocessor.size = (128, 128)

    runner = build_runner(cfg)
    states = _spy_on_loading(runner)
    capsys.readouterr()
    runner.train()
    printed = capsys.readouterr().out

    _check_start(states, checkpoint,
                 {'decode_head.conv_seg.weight', 'decode_head.conv_seg.bias'},
                 printed)
    weight = states['loaded']['decode_head.conv_seg.weight']
    assert weight.shape == (3, runner.model.decode_head.channels, 1, 1)
    # mmseg's head init (normal, bias 0), not PyTorch's default
    assert not states['loaded']['decode_head.conv_seg.bias'].any()

    losses = loss_history(runner)
    assert len(losses) == 2 and np.isfinite(losses).all(), losses
    metric = runner.val_evaluator.metrics[0]
    assert type(metric).__name__ == 'IoUMetric'
    assert metric.dataset_meta['classes'] == classes
    miou = runner.message_hub.get_scalar('val/mIoU').current()
    assert 0. <= miou <= 100.


def test_seg_example_reduce_zero_label(shapes_root, tmp_path):
    """With ``reduce_zero_label=True`` the mask value 0 is unlabelled and
    the classes name the values 1, 2, 3: the model's targets are the mask
    minus one, 0 and 255 ignored."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    root = str(tmp_path / 'custom_seg')
    _write_seg_folders(shapes_root, root, np.arange(256, dtype=np.uint8))
    classes = ('rectangle', 'ellipse', 'triangle')
    options = [
        f'val_dataloader.dataset.data_root={root}',
        'val_dataloader.dataset.reduce_zero_label=True',
        f'val_dataloader.dataset.metainfo.classes=({",".join(classes)})'
    ]
    cfg = _config(SEG_CONFIG, str(tmp_path / 'work'), options, check=False)
    init_default_scope('mmseg')
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    assert dataset.metainfo['classes'] == classes
    for index in range(len(dataset)):
        raw = cv2.imread(dataset.get_data_info(index)['seg_map_path'],
                         cv2.IMREAD_UNCHANGED)
        target = dataset[index]['data_samples'].gt_sem_seg.data[0].numpy()
        expected = _lut({1: 0, 2: 1, 3: 2})[raw]
        np.testing.assert_array_equal(target, expected)


@pytest.mark.parametrize('config', [DET_CONFIG, SEG_CONFIG],
                         ids=osp.basename)
def test_example_starts_from_imagenet_backbone(config, tmp_path):
    """The other start the examples describe: ``load_from = None`` and the
    backbone's ``init_cfg`` Pretrained from a converted ImageNet
    classifier (``prefix='backbone.'``)."""
    from mmvit.apis import build_model
    path = str(tmp_path / 'in1k.pth')
    checkpoint = _imagenet_checkpoint(config, path, offset=3)
    cfg = _config(
        config, str(tmp_path / 'work'), ['load_from=None'], check=False)
    assert cfg.load_from is None
    cfg.model.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=path, prefix='backbone.')
    model = build_model(cfg, init_weights=True)
    state = model.state_dict()
    backbone = {k for k in state if k.startswith('backbone.')}
    assert backbone == {k for k in checkpoint if k.startswith('backbone.')}
    for key in backbone:
        assert torch.equal(state[key], checkpoint[key]), key
