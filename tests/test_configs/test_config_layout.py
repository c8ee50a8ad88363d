"""How the config files are put together: one ``custom_imports`` form, set
once per chain of bases; the demo configs built from bases, not from a
recipe they undo; file names that tell the batch, GPUs and epochs they
hold."""
import glob
import os.path as osp
import re

import pytest
from conftest import parsed_config
from mmengine.config import Config

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO_ROOT, 'configs')
ALL = sorted(glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True))
LEAVES = [p for p in ALL if '_base_' not in p]
CUSTOM_IMPORTS = dict(imports=['mmvit'], allow_failed_imports=False)


def _rel(path: str) -> str:
    return osp.relpath(path, CONFIGS)


def _text(path: str) -> str:
    with open(path, encoding='utf-8') as f:
        return f.read()


@pytest.mark.parametrize('path', LEAVES, ids=_rel)
def test_every_config_imports_mmvit_the_same_way(path):
    assert parsed_config(path).custom_imports == CUSTOM_IMPORTS


@pytest.mark.parametrize(
    'path', [p for p in ALL if 'custom_imports' in _text(p)], ids=_rel)
def test_custom_imports_is_written_once_in_each_chain(path):
    """Written in the model bases (and in configs whose bases are other
    toolboxes'), not again in a config that inherits it."""
    assert parsed_config(path).custom_imports == CUSTOM_IMPORTS
    for base in _base_files(path):
        if '::' not in base:
            assert 'custom_imports' not in parsed_config(
                osp.join(CONFIGS, base)), base


def _base_files(path: str) -> list:
    return [
        b if '::' in b else osp.relpath(
            osp.normpath(osp.join(osp.dirname(path), b)), CONFIGS)
        for b in Config._get_base_files(path)
    ]


@pytest.mark.parametrize('name,bases', [
    ('ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py', [
        '_base_/models/ssdlite_mobilevit-s.py',
        '_base_/datasets/shapes_det.py',
        'mmdet::_base_/default_runtime.py',
        '_base_/schedules/shapes_demo.py',
    ]),
    ('deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_1xb8-2e_shapes-256x256.py', [
        '_base_/models/deeplabv3_mobilevit-s-d16.py',
        '_base_/datasets/shapes_seg.py',
        'mmseg::_base_/default_runtime.py',
        '_base_/schedules/shapes_demo.py',
    ]),
])
def test_demo_configs_inherit_model_data_runtime_and_demo_schedule(
        name, bases):
    """No 200- / 50-epoch recipe schedule inherited and then rewritten."""
    assert _base_files(osp.join(CONFIGS, name)) == bases


def test_shapes_det_test_pipeline_is_mmdets_with_the_ssd_resize():
    pytest.importorskip('mmdet')
    shapes = parsed_config(
        osp.join(CONFIGS, '_base_', 'datasets', 'shapes_det.py'))
    from mmengine.utils import get_installed_path
    mmdet = parsed_config(
        osp.join(
            get_installed_path('mmdet'), '.mim', 'configs', '_base_',
            'datasets', 'coco_detection.py'))
    size = (shapes.input_size, shapes.input_size)
    expected = [
        dict(step, scale=size, keep_ratio=False)
        if step['type'] == 'Resize' else step for step in mmdet.test_pipeline
    ]
    # (configs inheriting another toolbox's base tag its dicts with _scope_)
    assert _unscoped(shapes.test_pipeline) == _unscoped(expected)
    assert shapes.val_dataloader.dataset.pipeline == shapes.test_pipeline


def _unscoped(steps: list) -> list:
    return [{k: v for k, v in step.items() if k != '_scope_'} for step in steps]


# mmdet / mmseg / mmpretrain grammar: `{N}xb{B}` GPUs x images per GPU
# (`-accum{K}` steps of gradient accumulation), `-{E}e` epochs
GRAMMAR = re.compile(r'_(?P<gpus>\d+)xb(?P<batch>\d+)(?P<rest>[-\w]*?)_')


@pytest.mark.parametrize(
    'path', [p for p in LEAVES if GRAMMAR.search(osp.basename(p))],
    ids=_rel)
def test_file_name_tells_batch_gpus_and_epochs(path):
    name = osp.basename(path)
    match = GRAMMAR.search(name)
    cfg = parsed_config(path)
    assert cfg.train_dataloader.batch_size == int(match['batch'])
    # mmengine's --auto-scale-lr counts GPUs x images per step
    assert cfg.auto_scale_lr.base_batch_size == (
        int(match['gpus']) * int(match['batch']))
    accum = re.search(r'-accum(\d+)', match['rest'])
    assert cfg.optim_wrapper.get('accumulative_counts', 1) == (
        int(accum[1]) if accum else 1)
    epochs = re.search(r'-(\d+)e$', match['rest'])
    if epochs:
        assert cfg.train_cfg.max_epochs == int(epochs[1])
