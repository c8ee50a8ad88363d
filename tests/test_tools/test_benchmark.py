"""tools/analysis/benchmark.py: a ``--quick`` run on the XXS models checks
the table (positive numbers, known params and FLOPs, ratios that are the
quotients of the latencies), never the timings themselves."""
import json
import os.path as osp
import platform

import pytest
import torch
from conftest import load_tool

from mmvit.models.backbones.families import arch_keys

pytest.importorskip('timm')
pytest.importorskip('mmpretrain')
pytest.importorskip('mmdet')

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


benchmark = load_tool('analysis/benchmark.py')


@pytest.fixture(scope='module')
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp('benchmark') / 'results.json'
    threads = torch.get_num_threads()
    try:
        returned = benchmark.main([
            '--quick', '--groups', 'backbone', 'detector', '--archs',
            'xx_small', '--threads', '1', '--out',
            str(out)
        ])
    finally:
        torch.set_num_threads(threads)
    with open(out) as f:
        written = json.load(f)
    assert written['rows'] == returned['rows']
    return written


def _row(results, model):
    rows = [row for row in results['rows'] if row['model'] == model]
    assert len(rows) == 1, [row['model'] for row in results['rows']]
    return rows[0]


def test_rows(results):
    assert [row['model'] for row in results['rows']] == [
        'mmvit MobileViT-XXS',
        'mmvit MobileViT-XXS deploy',
        'timm mobilevit_xxs',
        'mmpretrain MobileViT-XXS',
        'mmvit SSDLite-MobileViT-XXS',
        'mmvit SSDLite-MobileViT-XXS deploy',
        'mmdet SSDLite-MobileNetV2',
    ]
    for row in results['rows']:
        for key in ('params_m', 'flops_g', 'latency_ms', 'latency_q1_ms',
                    'latency_q3_ms', 'gflops_per_s', 'throughput',
                    'batch_gflops_per_s'):
            assert isinstance(row[key], float) and row[key] > 0, (row, key)
        assert row['batch'] == 2
        assert row['gflops_per_s'] == pytest.approx(row['flops_g'] * 1e3 /
                                                    row['latency_ms'])
        assert row['throughput'] == pytest.approx(2 / row['batch_time_s'])
        assert row['faults'] >= 0
    env = results['environment']
    # glibc keeps freed buffers for reuse, so no model pays page faults for
    # memory handed back and mapped again between its calls
    if platform.libc_ver()[0] == 'glibc':
        assert env['freed_memory_kept'] is True
    assert env['threads'] == 1 and env['versions']['torch'] == \
        torch.__version__


def test_params_and_flops(results):
    # timm's MobileViT-XXS without its classifier is an independent
    # implementation of the same network: same params, and the 0.42 GMACs
    # at 256x256 of timm's model card (the classifier adds 0.0003)
    mmvit = _row(results, 'mmvit MobileViT-XXS')
    timm_row = _row(results, 'timm mobilevit_xxs')
    mmpretrain = _row(results, 'mmpretrain MobileViT-XXS')
    assert mmvit['params_m'] == timm_row['params_m'] == mmpretrain['params_m']
    assert mmvit['params_m'] == pytest.approx(0.951, abs=5e-4)
    for row in (mmvit, timm_row, mmpretrain):
        assert row['flops_g'] == pytest.approx(0.418, abs=2e-3)
    # ml-cvnets' layer-by-layer count of SSDLite-MobileViT-XXS (80 classes)
    detector = _row(results, 'mmvit SSDLite-MobileViT-XXS')
    assert detector['params_m'] == pytest.approx(1.755, abs=5e-4)
    assert detector['input_size'] == 320 and mmvit['input_size'] == 256


def test_ratios_are_latency_quotients(results):
    pairs = {(r['model'], r['peer']): r for r in results['ratios']}
    assert set(pairs) == {
        ('mmvit MobileViT-XXS', 'timm mobilevit_xxs'),
        ('mmvit MobileViT-XXS', 'mmpretrain MobileViT-XXS'),
        ('mmvit MobileViT-XXS deploy', 'mmvit MobileViT-XXS'),
        ('mmvit MobileViT-XXS deploy', 'timm mobilevit_xxs'),
        ('mmvit MobileViT-XXS deploy', 'mmpretrain MobileViT-XXS'),
        ('mmvit SSDLite-MobileViT-XXS', 'mmdet SSDLite-MobileNetV2'),
        ('mmvit SSDLite-MobileViT-XXS deploy', 'mmvit SSDLite-MobileViT-XXS'),
        ('mmvit SSDLite-MobileViT-XXS deploy', 'mmdet SSDLite-MobileNetV2'),
    }
    for (model, peer), ratio in pairs.items():
        row, peer_row = _row(results, model), _row(results, peer)
        assert ratio['latency_ratio'] == pytest.approx(row['latency_ms'] /
                                                       peer_row['latency_ms'])
        assert ratio['batch_ratio'] == pytest.approx(row['batch_time_s'] /
                                                     peer_row['batch_time_s'])
    goals = benchmark.goal_lines(results)
    assert len(goals) == 4  # eager and deploy XXS vs timm and vs mmpretrain
    assert all(
        line.startswith(('mmvit MobileViT-XXS vs ',
                         'mmvit MobileViT-XXS deploy vs ')) for line in goals)


def test_markdown_table(results):
    text = benchmark.format_tables(results, markdown=True)
    rows_table, ratios_table = text.split('\n\n')
    lines = rows_table.splitlines()
    assert lines[0].startswith('| Model | Input | Params (M) | FLOPs (G)')
    assert len(lines) == 2 + len(results['rows'])
    assert len(ratios_table.splitlines()) == 2 + len(results['ratios'])
    cells = lines[2].strip('|').split('|')
    assert cells[0].strip() == 'mmvit MobileViT-XXS'
    assert float(cells[2]) == pytest.approx(0.951, abs=5e-4)


def test_options():
    args = benchmark.parse_args([])
    assert args.batch == 32 and args.groups == list(benchmark.GROUPS)
    assert args.archs == list(arch_keys()) and args.deploy
    quick = benchmark.parse_args(['--quick', '--no-deploy', '--no-peers'])
    assert (quick.repeats, quick.batch, quick.seg_batch) == (1, 2, 2)
    assert not quick.deploy and not quick.peers
    with pytest.raises(SystemExit):
        benchmark.parse_args(['--repeats', '0'])
