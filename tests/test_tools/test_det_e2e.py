"""tools/train.py and tools/test.py: option handling, and an end-to-end run
of the shapes config with the real Runner and mmdet's CocoMetric."""
import glob
import json
import os
import os.path as osp
import pickle
import sys

import pytest
from conftest import SEED, load_tool, run_ok

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


train_tool = load_tool('train.py')
test_tool = load_tool('test.py')

SHAPES_CFG = osp.join(REPO_ROOT, 'configs',
                      'ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py')
COCO_CFG = osp.join(REPO_ROOT, 'configs',
                    'ssdlite_mobilevit/ssdlite_mobilevit-s_4xb32-200e_coco.py')


def test_train_options(tmp_path):
    ckpt = tmp_path / 'epoch_1.pth'
    ckpt.write_bytes(b'')
    args = train_tool.parse_args([
        COCO_CFG, '--work-dir',
        str(tmp_path), '--amp', '--auto-scale-lr', '--resume',
        str(ckpt), '--cfg-options', 'train_cfg.max_epochs=3',
        'model.backbone.init_cfg=None'
    ])
    cfg = train_tool.build_config(args)
    assert cfg.work_dir == str(tmp_path)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.auto_scale_lr.enable is True
    assert cfg.resume is True and cfg.load_from == str(ckpt)
    assert cfg.train_cfg.max_epochs == 3
    assert cfg.model.backbone.init_cfg is None
    assert cfg.launcher == 'none'


def test_train_defaults_and_auto_resume():
    cfg = train_tool.build_config(
        train_tool.parse_args([COCO_CFG, '--resume']))
    assert cfg.resume is True and cfg.load_from is None
    assert cfg.work_dir == osp.join('./work_dirs',
                                   'ssdlite_mobilevit-s_4xb32-200e_coco')


def test_train_dist_on_cpu_uses_gloo():
    cfg = train_tool.build_config(
        train_tool.parse_args([SHAPES_CFG, '--launcher', 'pytorch']))
    import torch
    if not torch.cuda.is_available():
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'


def test_bad_paths_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.py'):
        train_tool.build_config(train_tool.parse_args(['nope.py']))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        train_tool.build_config(
            train_tool.parse_args([COCO_CFG, '--resume', 'missing.pth']))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        test_tool.build_config(test_tool.parse_args([COCO_CFG, 'missing.pth']))


def test_test_options(tmp_path):
    ckpt = tmp_path / 'model.pth'
    ckpt.write_bytes(b'')
    cfg = test_tool.build_config(
        test_tool.parse_args([
            COCO_CFG,
            str(ckpt), '--show-dir',
            str(tmp_path / 'vis'), '--cfg-options',
            'test_dataloader.batch_size=2'
        ]))
    assert cfg.load_from == str(ckpt)
    assert cfg.default_hooks.visualization.draw is True
    assert cfg.default_hooks.visualization.test_out_dir == str(tmp_path /
                                                               'vis')
    assert cfg.test_dataloader.batch_size == 2


@pytest.mark.parametrize(
    'config',
    sorted(
        glob.glob(osp.join(REPO_ROOT, 'configs', '*.py')) +
        glob.glob(osp.join(REPO_ROOT, 'configs', '*', '*.py'))))
def test_tools_load_every_config(config, tmp_path):
    """train.py builds the final config of every toolbox's config."""
    if '_base_' in config:
        pytest.skip('base config')
    cfg = train_tool.build_config(
        train_tool.parse_args([config, '--work-dir',
                               str(tmp_path)]))
    assert cfg.default_scope in ('mmdet', 'mmseg', 'mmpretrain')


def _run(args, cwd):
    return run_ok([sys.executable] + args, cwd,
                  dict(os.environ, PYTHONPATH=REPO_ROOT))


@pytest.mark.slow
def test_shapes_train_then_test(tmp_path):
    """A few iterations on freshly generated data (data/shapes under the
    working directory), validation with CocoMetric, then tools/test.py on the
    saved checkpoint."""
    work_dir = str(tmp_path / 'work')
    data = ['num_train=24', 'num_val=8']
    options = [
        'train_cfg.max_epochs=2', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1', f'randomness.seed={SEED}',
        'model.backbone.init_cfg=None'  # no pretraining stage here
    ]
    data.append(f'seed={SEED}')  # of the generated images
    for split in ('train', 'val'):
        options += [
            f'{split}_dataloader.batch_size=8',
            f'{split}_dataloader.num_workers=0',
            f'{split}_dataloader.persistent_workers=False'
        ]
        options += [f'{split}_dataloader.dataset.{kv}' for kv in data]
    _run(
        [
            osp.join(REPO_ROOT, 'tools', 'train.py'), SHAPES_CFG, '--work-dir',
            work_dir, '--cfg-options'
        ] + options,
        cwd=tmp_path)
    assert osp.exists(tmp_path / 'data/shapes/annotations/instances_val.json')

    scalars = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    records = [json.loads(line) for line in open(scalars[0])]
    losses = [r['loss'] for r in records if 'loss' in r]
    assert len(losses) >= 4 and all(v == v for v in losses)  # finite, ran
    val = [r for r in records if 'coco/bbox_mAP' in r]
    assert len(val) == 1 and 0. <= val[0]['coco/bbox_mAP'] <= 1.

    ckpt = osp.join(work_dir, 'epoch_2.pth')
    out = str(tmp_path / 'preds.pkl')
    log = _run([
        osp.join(REPO_ROOT, 'tools',
                 'test.py'), SHAPES_CFG, ckpt, '--work-dir', work_dir, '--out',
        out, '--cfg-options', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ],
               cwd=tmp_path)
    assert 'coco/bbox_mAP' in log
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 8
    assert all(len(p['pred_instances']['bboxes']) <= 200 for p in preds)


def test_browse_dataset_draws_samples(tmp_path, monkeypatch):
    browse = load_tool('browse_dataset.py')
    monkeypatch.chdir(tmp_path)  # the config's data_root is data/shapes/
    out_dir = tmp_path / 'vis'
    browse.main([
        SHAPES_CFG, '--output-dir',
        str(out_dir), '--num', '2', '--cfg-options',
        'train_dataloader.dataset.num_train=4',
        'train_dataloader.dataset.num_val=2'
    ])
    drawn = sorted(os.listdir(out_dir))
    assert len(drawn) == 2 and all(n.endswith('.jpg') for n in drawn)
