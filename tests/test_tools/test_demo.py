"""The embedded demo's whole path (tools/demo.py --quick): data generation,
pretraining with the variable-batch sampler, detection and segmentation
fine-tuned from its checkpoint, predictions drawn by tools/test.py, curves
and the summary table -- a few iterations per stage, real metrics."""
import json
import os
import os.path as osp
import re
import sys

import pytest
from conftest import REPO_ROOT, SEED, load_tool, run_ok

pytestmark = pytest.mark.slow

demo = load_tool('demo.py')


def test_quick_demo_runs_every_stage(tmp_path):
    out = run_ok([
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'demo.py'), '--quick', '--seed',
        str(SEED), '--num-pictures', '3', '--deploy', 'onnxruntime'
    ],
                 cwd=str(tmp_path),
                 env=dict(os.environ, PYTHONPATH=REPO_ROOT))
    root = tmp_path / 'work_dirs' / 'demo'
    # each stage is a plain toolbox command, printed as it runs
    for config in ('mobilevit-xxsmall_1xb32_shapes.py',
                   'ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py',
                   'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_1xb8-2e_shapes-256x256.py'):
        assert re.search(rf'\$ python tools/train.py \S*{re.escape(config)}',
                         out)
    assert re.search(
        r'\$ python tools/test.py \S*ssdlite_mobilevit-xxs_1xb8-3e_shapes-256'
        r'\.py .* --show-dir', out)
    # the fine-tuning stages start from the pretraining checkpoint
    pretrained = (root / 'pretrain' / 'epoch_1.pth')
    assert pretrained.is_file()
    assert f'model.backbone.init_cfg.checkpoint={pretrained}' in out
    det_log = (root / 'detection' / 'train.log').read_text()
    assert f'load backbone. in model from: {pretrained}' in det_log
    # every backbone weight found; only the classifier's expansion layer left
    assert 'missing keys in source state_dict' not in det_log
    unexpected = re.findall(r'unexpected key in source state_dict: (.*)',
                            det_log)
    assert unexpected and all(
        k.strip().startswith('conv_1x1_exp.')
        for k in unexpected[0].split(','))
    # the real metrics, in the summary table
    table = out[out.index('task '):]
    for row in ('classification | MobileViT-XXS', 'accuracy/top1',
                'detection      | SSDLite-MobileViT-XXS', 'coco/bbox_mAP',
                'segmentation   | DeepLabv3-MobileViT-XXS', 'mIoU'):
        assert row in table, table
    # the trained models exported in INT8 and scored by the configs' metrics
    assert re.search(r'\$ python tools/deployment/deploy.py \S*ssdlite_mobilevit'
                     r'-xxs\S* \S*epoch_1.pth --runtime onnxruntime '
                     r'--precision int8', out)
    for row in (r'detection +\| SSDLite-MobileViT-XXS onnxruntime INT8 +\| '
                r'coco/bbox_mAP', r'segmentation +\| DeepLabv3-MobileViT-XXS '
                r'onnxruntime INT8 +\| mIoU'):
        assert re.search(row, table), table
    # pictures of the predictions and one learning curve per stage
    for stage in ('detection', 'segmentation'):
        pictures = [
            f for _, _, files in os.walk(root / 'pictures' / stage)
            for f in files if f.endswith(('.jpg', '.png'))
        ]
        assert len(pictures) == 3, pictures
    for stage in ('pretrain', 'detection', 'segmentation'):
        assert (root / 'curves' / f'{stage}.png').stat().st_size > 1000


def test_summary_and_class_iou_parsing(tmp_path):
    """The table reads what the runs logged; mmseg's per-class table is
    read from the run log."""
    run_dir = tmp_path / 'seg' / '20260101_000000'
    (run_dir / 'vis_data').mkdir(parents=True)
    (run_dir / '20260101_000000.log').write_text(
        'per class results:\n'
        '+------------+-------+-------+\n'
        '|   Class    |  IoU  |  Acc  |\n'
        '+------------+-------+-------+\n'
        '| background | 98.25 | 99.1  |\n'
        '| rectangle  | 81.5  | 90.0  |\n'
        '+------------+-------+-------+\n')
    assert demo._class_iou(str(run_dir)) == {
        'background': 98.25,
        'rectangle': 81.5
    }
    records = [
        dict(loss=1.0, iter=1, step=1),
        dict(loss=0.5, iter=2, step=2),
        dict(mIoU=80.0, aAcc=97.0, step=1)
    ]
    path = demo.plot_curve(records, demo.SEGMENTATION,
                           str(tmp_path / 'c' / 'seg.png'))
    assert osp.getsize(path) > 1000
    with open(run_dir / 'vis_data' / 'scalars.json', 'w') as f:
        f.write('\n'.join(json.dumps(r) for r in records))
    assert demo._latest_scalars(str(tmp_path / 'seg')).endswith(
        'scalars.json')
