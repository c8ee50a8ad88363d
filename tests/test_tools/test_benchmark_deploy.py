"""tools/analysis/benchmark_deploy.py: a short run over PyTorch and
onnxruntime for MobileViT-XXS and its timm peer (added on its own) gives a
row per runtime and precision, ratios against PyTorch eager and the peer,
file sizes, memory, and the JSON."""
import json

import pytest
from conftest import load_tool

pytestmark = pytest.mark.slow


def test_short_run_has_every_row_and_ratio(tmp_path):
    bench = load_tool('analysis/benchmark_deploy.py')
    out = tmp_path / 'result.json'
    report = bench.main([
        '--models', 'mobilevit-xxs', '--runtimes', 'pytorch', 'onnxruntime',
        '--precisions', 'eager', 'deploy', 'fp32', '--threads', '1',
        '--repeats', '2', '--warmup', '1', '--work-dir',
        str(tmp_path / 'work'), '--out',
        str(out)
    ])
    rows = {(r['model'], r['runtime'], r['precision']): r
            for r in report['rows']}
    assert set(rows) == {(m, r, p) for m in ('mobilevit-xxs', 'timm-xxs')
                         for r, p in (('pytorch', 'eager'),
                                      ('pytorch', 'deploy'),
                                      ('onnxruntime', 'fp32'))}
    for (model, runtime, _), row in rows.items():
        assert row['ms_1t'] > 0
        assert row['vs_eager_1t'] > 0
        # ratios against the peer only for the mmvit rows
        assert (row['vs_peer_1t'] is None) == (model == 'timm-xxs')
        assert (row['size_mb'] > 1) == (runtime == 'onnxruntime')
    assert rows['mobilevit-xxs', 'pytorch', 'eager']['vs_eager_1t'] == 1
    assert json.loads(out.read_text())['rows'] == report['rows']
    assert report['cpu'] and report['threads'] == [1]
