"""mim finds mmvit's model index, configs and tools (``mmvit/.mim``), also
for the editable install: ``mim search``, ``mim train`` and ``mim test`` on
the shapes detection config."""
import os
import os.path as osp
import shutil
import sys

import pytest
import torch
from conftest import REPO_ROOT, SEED, run_ok

pytest.importorskip('mim')
MIM = shutil.which('mim') or osp.join(osp.dirname(sys.executable), 'mim')
CONFIG = 'ssdlite_mobilevit_xxs_shapes.py'  # found in mmvit/.mim/configs
# the generated data as it is, in one process, without the demo's
# pretraining checkpoint, one short epoch
OPTIONS = [
    'model.backbone.init_cfg=None', 'train_cfg.max_epochs=1',
    'train_dataloader.dataset.indices=4', 'train_dataloader.batch_size=2'
] + [
    f'{split}_dataloader.{key}' for split in ('train', 'val', 'test')
    for key in ('dataset.generate=False', 'num_workers=0',
                'persistent_workers=False')
]


def _mim(args: list, cwd) -> str:
    env = dict(os.environ, MPLBACKEND='Agg')
    return run_ok([MIM] + [str(a) for a in args], str(cwd), env)


def test_mim_search_lists_every_model(tmp_path):
    import yaml
    log = _mim(['search', 'mmvit'], tmp_path)
    index = yaml.safe_load(open(osp.join(REPO_ROOT, 'model-index.yml')))
    names = []
    for metafile in index['Import']:
        models = yaml.safe_load(open(osp.join(REPO_ROOT, metafile)))['Models']
        names += [m['Name'] for m in models]
    assert len(names) > 40
    missing = [n for n in names if n not in log]
    assert not missing, missing


@pytest.mark.slow
def test_mim_train_and_test(tmp_path):
    from mmvit.datasets.shapes import generate_shapes_dataset
    generate_shapes_dataset(
        str(tmp_path / 'data' / 'shapes'), num_train=8, num_val=4, seed=SEED)
    work_dir = tmp_path / 'work'
    log = _mim([
        'train', 'mmvit', CONFIG, '--work-dir', work_dir, '--cfg-options',
        *OPTIONS
    ], tmp_path)
    checkpoint = work_dir / 'epoch_1.pth'
    assert checkpoint.is_file(), log[-3000:]
    assert torch.load(checkpoint, map_location='cpu',
                      weights_only=False)['meta']['epoch'] == 1
    log = _mim([
        'test', 'mmvit', CONFIG, '--checkpoint', checkpoint, '--work-dir',
        tmp_path / 'test', '--cfg-options', *OPTIONS[:1], *OPTIONS[4:]
    ], tmp_path)
    assert 'coco/bbox_mAP' in log, log[-3000:]
