"""tools/gpu_smoke_test.sh --dry-run on the CPU (every step has a summary
line, the GPU steps are skipped, every printed command names tools and
configs that exist, the CPU parts of tools/gpu_smoke_checks.py pass), and
the helpers of tools/gpu_smoke_checks.py on small inputs."""
import json
import os
import os.path as osp
import shlex
import subprocess
import sys

import pytest
from conftest import REPO_ROOT, load_tool, parsed_config

SCRIPT = osp.join(REPO_ROOT, 'tools', 'gpu_smoke_test.sh')
STEPS = ('0-data', '1-probe', '2a-det-fp32', '2b-det-amp-fp16',
         '2c-det-amp-bf16', '3-det-test-fp16', '4a-cls-ddp-syncbn-ema',
         '4b-cls-ddp-resume', '5a-seg-fp32', '5b-seg-amp',
         '5c-seg-ddp-syncbn', '6a-sdpa-kernels', '6b-memory-fp32-vs-amp',
         '7-deploy-parity', '8-onnx-export')
CPU_STEPS = ('0-data', '7-deploy-parity')  # run for real in a dry run
EXTERNAL = ('nvidia-smi', )  # programs that are not part of the repository


@pytest.fixture(scope='module')
def dry_run(tmp_path_factory):
    """One dry run, from a directory other than the repository."""
    tmp = tmp_path_factory.mktemp('gpu_smoke')
    log_dir = tmp / 'logs'
    env = dict(os.environ, PYTHON=sys.executable)
    proc = subprocess.run(['bash', SCRIPT, str(log_dir), '--dry-run'],
                          cwd=str(tmp),
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=600)
    return proc, log_dir


def _commands(stdout: str):
    return [
        shlex.split(line[2:]) for line in stdout.splitlines()
        if line.startswith('+ ')
    ]


@pytest.mark.slow
def test_dry_run_summary(dry_run):
    proc, log_dir = dry_run
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    lines = (log_dir / 'summary.txt').read_text().splitlines()
    status = {line.split()[0]: line.split(None, 1)[1] for line in lines}
    assert tuple(status) == STEPS
    for step, text in status.items():
        if step in CPU_STEPS:
            assert text.startswith('PASS'), (step, text)
        else:
            assert text.startswith('SKIP (no GPU: dry run)'), (step, text)
        assert 'commands checked' in text, (step, text)
        assert (log_dir / f'{step}.log').is_file()
    # BN folding really ran on the CPU
    assert 'deploy parity on cpu' in status['7-deploy-parity']


@pytest.mark.slow
def test_dry_run_commands_exist(dry_run):
    proc, log_dir = dry_run
    commands = _commands(proc.stdout)
    assert len(commands) >= 25
    for argv in commands:
        tools = [a for a in argv if a.endswith(('.py', '.sh'))]
        if not tools:
            assert argv[0] in EXTERNAL, argv
            continue
        tool = tools[0]
        assert osp.isfile(osp.join(REPO_ROOT, tool)), (tool, argv)
        assert tool.startswith('tools/'), argv
        for config in tools[1:]:  # configs: the generated smoke configs
            assert osp.isfile(config), (config, argv)
            assert osp.dirname(config) == str(log_dir / 'configs')
    text = '\n'.join(shlex.join(argv) for argv in commands)
    for feature in ('--amp', 'optim_wrapper.dtype=bfloat16',
                    'test_cfg.fp16=True', 'norm_cfg.type=SyncBN',
                    'tools/dist_train.sh', '--resume', '--verify',
                    'generate_shapes.py', '--classification'):
        assert feature in text, feature


@pytest.mark.slow
def test_dry_run_configs(dry_run):
    """The generated configs inherit the repository's and train on the
    generated data under LOG_DIR, without pretraining; the classification
    one with the variable-batch sampler and EMA."""
    _, log_dir = dry_run
    data = str(log_dir / 'data')
    det = parsed_config(
        str(log_dir / 'configs' / 'ssdlite_mobilevit_xxs_shapes_smoke.py'))
    assert det.model.backbone.init_cfg is None
    assert det.train_dataloader.dataset.data_root.startswith(data)
    assert det.test_evaluator.ann_file.startswith(data)
    assert det.train_cfg.max_epochs == 1
    cls = parsed_config(
        str(log_dir / 'configs' / 'mobilevit-xxsmall_shapes_smoke.py'))
    assert cls.train_dataloader.batch_sampler.type == (
        'mmvit.MultiScaleVariableBatchSampler')
    assert 'EMAHook' in [hook.type for hook in cls.custom_hooks]
    assert cls.train_dataloader.dataset.dataset.data_root.startswith(data)


def test_usage_errors():
    for args in ([], ['--dry-run'], ['logs', '--fast']):
        proc = subprocess.run(['bash', SCRIPT] + args,
                              capture_output=True,
                              text=True)
        assert proc.returncode == 2, args
        assert 'LOG_DIR' in proc.stdout


def test_metrics(tmp_path):
    checks = load_tool('gpu_smoke_checks.py')
    for name, value in (('a', 0.1234), ('b', 0.1231), ('c', 0.125)):
        run = tmp_path / name / '20250101_000000'
        (run / 'vis_data').mkdir(parents=True)
        records = [{'loss': 1.0, 'iter': 1}, {'coco/bbox_mAP': value}]
        (run / 'vis_data' / 'scalars.json').write_text('\n'.join(
            json.dumps(r) for r in records))
    assert checks.read_metric(str(tmp_path / 'a'), 'coco/bbox_mAP') == 0.1234
    assert checks.read_metric(str(tmp_path / 'a'), 'mIoU') is None
    assert checks.compare_metrics(
        str(tmp_path / 'a'), str(tmp_path / 'b'), 'coco/bbox_mAP')
    assert not checks.compare_metrics(
        str(tmp_path / 'a'), str(tmp_path / 'c'), 'coco/bbox_mAP')
    assert not checks.metric_check(str(tmp_path / 'a'), 'mIoU')


def test_check_commands_finds_problems(tmp_path, monkeypatch):
    checks = load_tool('gpu_smoke_checks.py')
    monkeypatch.chdir(REPO_ROOT)
    det = 'configs/ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py'
    lines = {
        'good': f'python tools/test.py {det} x.pth --cfg-options '
        'test_cfg.fp16=True',
        'no-config': 'python tools/train.py configs/missing.py',
        'typo': f'python tools/test.py {det} x.pth --cfg-options '
        'test_cfg.fp61=True',
        'dtype': f'python tools/train.py {det} --amp --cfg-options '
        'optim_wrapper.dtype=bf16 model.backbone.init_cfg=None',
        'no-tool': 'python tools/missing.py',
        'external': 'nvidia-smi',
    }
    commands = tmp_path / 'commands.tsv'
    commands.write_text(''.join(f'{k}\t{v}\n' for k, v in lines.items()))
    results = tmp_path / 'checks.tsv'
    assert not checks.check_commands(str(commands), str(results))
    verdicts = {
        line.split('\t')[0]: line.split('\t')[1:]
        for line in results.read_text().splitlines()
    }
    assert verdicts['good'][0] == 'OK'
    assert verdicts['external'][0] == 'OK'
    for step, words in (('no-config', 'not found'), ('typo', 'fp61'),
                        ('dtype', 'bf16'), ('no-tool', 'not found')):
        assert verdicts[step][0] == 'FAIL', step
        assert words in verdicts[step][1], (step, verdicts[step])
