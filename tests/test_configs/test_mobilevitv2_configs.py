"""The MobileViTv2 configs: each builds the authors' model (parameter counts
of the facts sheet, exactly), follows its recipe, and the SSDLite and
DeepLabv3 ones train a few real-runner iterations on generated data."""
import glob
import os.path as osp

import numpy as np
import pytest
from conftest import built_model, parsed_config
from mobilevitv2_facts import PARAMS  # the facts sheet's counts
from test_other_models import _det_config, _seg_config, _train

from mmvit.apis import build_model, load_config
from mmvit.models import MobileViTv2

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO_ROOT, 'configs')


def _width(arch: str) -> str:
    return f'{round(100 * float(arch)):03d}'


# task -> (config of a width, the widths the issue asks for, column of
# PARAMS: classifier, SSDLite, DeepLabv3 with aux)
TASKS = {
    'classifier': ('mobilevitv2/mobilevitv2-{w}_8xb128_in1k.py',
                   tuple(MobileViTv2.arch_settings), 0),
    'detector': ('ssdlite_mobilevitv2/ssdlite_mobilevitv2-{w}_4xb32-200e_'
                 'coco.py', ('0.5', '0.75', '1.0', '2.0'), 1),
    'segmentor': ('deeplabv3_mobilevitv2/deeplabv3_mobilevitv2-{w}-d16_4xb32-'
                  '50e_voc12aug-coco-512x512.py', ('0.5', '1.0', '1.5'), 2),
}
CASES = [(task, arch) for task, (_, archs, _) in TASKS.items()
         for arch in archs]
ADE20K = {
    arch: 'deeplabv3_mobilevitv2/deeplabv3_mobilevitv2-'
    f'{_width(arch)}-d8_4xb4-120e_ade20k-512x512.py'
    for arch in ('1.0', '2.0')
}


def _name(task: str, arch: str) -> str:
    return TASKS[task][0].format(w=_width(arch))


def test_every_v2_config_is_listed():
    found = {
        osp.relpath(p, CONFIGS)
        for folder in ('mobilevitv2', 'ssdlite_mobilevitv2',
                       'deeplabv3_mobilevitv2')
        for p in glob.glob(osp.join(CONFIGS, folder, '*.py'))
    }
    listed = {_name(task, arch) for task, arch in CASES}
    assert found == listed | set(ADE20K.values())


@pytest.mark.parametrize('task,arch', CASES)
def test_config_builds_the_authors_model(task, arch):
    path = osp.join(CONFIGS, _name(task, arch))
    cfg = parsed_config(path)
    assert cfg.model.backbone.type == 'mmvit.MobileViTv2'
    assert cfg.model.backbone.arch == arch
    model = built_model(path)  # shared with test_metafiles
    params = sum(p.numel() for p in model.parameters())
    assert params == PARAMS[arch][TASKS[task][2]]
    if task != 'classifier':  # the ImageNet weights this recipe starts from
        init = cfg.model.backbone.init_cfg
        assert init.type == 'Pretrained' and init.prefix == 'backbone.'
        assert f'mobilevitv2-{_width(arch)}_in1k' in init.checkpoint


@pytest.mark.parametrize('arch', sorted(ADE20K))
def test_ade20k_config(arch):
    cfg = load_config(osp.join(CONFIGS, ADE20K[arch]))
    assert cfg.model.backbone.out_stride == 8
    assert tuple(cfg.model.decode_head.dilations) == (1, 12, 24, 36)
    model = build_model(cfg)
    assert model.decode_head.num_classes == 150
    assert model.auxiliary_head.num_classes == 150
    # the VOC model with 150 instead of 21 classes in both classifiers
    voc = PARAMS[arch][2] if arch in TASKS['segmentor'][1] else None
    c5, c4 = model.decode_head.in_channels, model.auxiliary_head.in_channels
    extra = (150 - 21) * (512 + 1 + model.auxiliary_head.channels + 1)
    params = sum(p.numel() for p in model.parameters())
    if voc is not None:
        assert params == voc + extra
    assert (c4, c5) == MobileViTv2.arch_out_channels(arch, (3, 4))
    assert cfg.optim_wrapper.optimizer.type == 'SGD'
    assert cfg.train_cfg.max_epochs == 120


def test_recipes():
    cls = load_config(osp.join(CONFIGS, _name('classifier', '1.0')))
    assert cls.train_dataloader.get('batch_sampler') is None  # single-scale
    assert cls.optim_wrapper.optimizer.weight_decay == 0.05
    assert cls.optim_wrapper.paramwise_cfg.norm_decay_mult == 0
    steps = [s['type'] for s in cls.train_dataloader.dataset.pipeline]
    assert {'RandAugment', 'RandomErasing'} <= set(steps)
    assert [a['type'] for a in cls.model.train_cfg.augments] == [
        'Mixup', 'CutMix'
    ]
    assert [h['type'] for h in cls.custom_hooks] == ['EMAHook']
    det = load_config(osp.join(CONFIGS, _name('detector', '1.0')))
    assert det.optim_wrapper.optimizer.weight_decay == 0.05
    seg = load_config(osp.join(CONFIGS, _name('segmentor', '1.0')))
    assert seg.optim_wrapper.optimizer.lr == 5e-4
    assert 'custom_keys' not in seg.optim_wrapper.paramwise_cfg  # no x10
    assert len(seg.train_dataloader.dataset.datasets) == 3  # VOC, SBD, COCO


@pytest.fixture(scope='module')
def shapes_root(tmp_path_factory):
    from mmvit.datasets.shapes import generate_shapes_dataset
    from conftest import SEED
    root = str(tmp_path_factory.mktemp('shapes'))
    generate_shapes_dataset(root, num_train=8, num_val=2, seed=SEED)
    return root


@pytest.mark.slow
def test_ssdlite_v2_trains_on_generated_shapes(shapes_root, tmp_path):
    cfg = _det_config(_name('detector', '0.5'), shapes_root,
                      str(tmp_path / 'work'))
    runner, losses = _train(cfg)
    assert len(losses) == 2 and np.isfinite(losses).all(), losses
    assert 0 <= runner.message_hub.get_scalar('val/coco/bbox_mAP').current()


@pytest.mark.slow
def test_deeplabv3_v2_trains_on_generated_shapes(shapes_root, tmp_path):
    cfg = _seg_config(_name('segmentor', '0.5'), shapes_root,
                      str(tmp_path / 'work'))
    # the recipe's loop is epoch-based: one epoch of 4 images
    cfg.train_cfg = dict(
        type='EpochBasedTrainLoop', max_epochs=1, val_interval=1)
    cfg.train_dataloader.dataset.indices = 4
    cfg.param_scheduler = [
        dict(step, convert_to_iter_based=False)
        if 'convert_to_iter_based' in step else step
        for step in cfg.param_scheduler
    ]
    runner, losses = _train(cfg)
    assert len(losses) == 2 and np.isfinite(losses).all(), losses
    assert 0 <= runner.message_hub.get_scalar('val/mIoU').current() <= 100


def test_config_check_knows_the_v2_channels():
    """mmvit's start-up check reads MobileViTv2's channels off its table: a
    neck that does not fit is named before anything is built."""
    from mmvit.preflight.wiring import wiring_problems
    cfg = load_config(osp.join(CONFIGS, _name('detector', '0.5')))
    assert wiring_problems(cfg.model, 'mmdet') == []
    cfg.model.neck.in_channels = (190, 256)
    problem, = wiring_problems(cfg.model, 'mmdet')
    assert 'set model.neck.in_channels=(192, 256)' in problem
