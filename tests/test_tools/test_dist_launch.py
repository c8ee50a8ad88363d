"""The multi-GPU commands (docs/en/user_guides/multi_gpu.md), run with 2
CPU processes (gloo): torchrun through tools/dist_train.sh and
tools/dist_test.sh, mmengine's launcher."""
import glob
import json
import os
import os.path as osp
import socket
import sys

import pytest
from conftest import run_ok

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHAPES_CFG = osp.join(REPO_ROOT, 'configs',
                      'ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _launch(script, args, cwd):
    env = dict(
        os.environ,
        PORT=str(_free_port()),
        OMP_NUM_THREADS='1',
        # torchrun lives beside this interpreter
        PATH=osp.dirname(sys.executable) + os.pathsep + os.environ['PATH'])
    return run_ok(['bash', osp.join(REPO_ROOT, 'tools', script)] + args, cwd,
                  env)


@pytest.mark.slow
def test_dist_train_and_test_two_processes(tmp_path):
    work_dir = str(tmp_path / 'work')
    options = [
        'train_cfg.max_epochs=1', 'default_hooks.logger.interval=1',
        'model.backbone.init_cfg=None'  # no pretraining stage here
    ]
    for split in ('train', 'val', 'test'):
        options += [
            f'{split}_dataloader.batch_size=4',
            f'{split}_dataloader.num_workers=0',
            f'{split}_dataloader.persistent_workers=False',
            f'{split}_dataloader.dataset.num_train=16',
            f'{split}_dataloader.dataset.num_val=8'
        ]
    log = _launch('dist_train.sh', [
        SHAPES_CFG, '2', '--work-dir', work_dir, '--cfg-options', *options
    ], tmp_path)
    assert 'Distributed training: True' in log
    scalars = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    records = [json.loads(line) for line in open(scalars[0])]
    # 16 images, 2 ranks x 4 per batch: 2 iterations, each on both ranks
    assert max(r['iter'] for r in records if 'loss' in r) == 2
    assert any('coco/bbox_mAP' in r for r in records)

    log = _launch('dist_test.sh', [
        SHAPES_CFG,
        osp.join(work_dir, 'epoch_1.pth'), '2', '--work-dir', work_dir,
        '--cfg-options', *options
    ], tmp_path)
    assert 'coco/bbox_mAP' in log
