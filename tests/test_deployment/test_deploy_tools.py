"""tools/deployment/deploy.py and tools/deployment/test.py: bad input is
refused before any export with a message (exit code 2 on the command line),
and an exported classifier scored by the config's own evaluator gives what
mmengine's test loop gives for the same weights."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from conftest import REPO_ROOT, SEED, load_tool

pytest.importorskip('openvino')
pytest.importorskip('executorch')

CLS_CFG = osp.join(REPO_ROOT, 'configs', 'mobilevit',
                   'mobilevit-xxsmall_1xb32_shapes.py')
DET_CFG = osp.join(REPO_ROOT, 'configs', 'ssdlite_mobilevit',
                   'ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py')


def _deploy(argv):
    return load_tool('deployment/deploy.py').main(argv)


def _cls_options(tmp_path):
    # the generated data under tmp_path, few images
    root = str(tmp_path / 'data' / 'shapes_cls')
    options = {}
    for key in ('train_dataloader.dataset.dataset', 'test_dataloader.dataset'):
        options.update({f'{key}.data_root': root, f'{key}.num_train': 12,
                        f'{key}.num_val': 8})
    return options


def _config(tmp_path):
    from mmvit.apis import load_config
    cfg = load_config(CLS_CFG, cfg_options=_cls_options(tmp_path))
    path = str(tmp_path / 'cls.py')
    cfg.dump(path)
    return path


@pytest.mark.parametrize('runtime, out, extra, match', [
    ('onnxruntime', 'm.onnx', ['--precision', 'bf16'], 'not .bf16'),
    ('executorch', 'm.pte', ['--with-nms'], 'no NMS op'),
    ('openvino', 'm.pte', [], 'writes .xml'),
    ('onnxruntime', 'm.onnx', ['--shape', '100', '128'], 'multiples of 32'),
])
def test_deploy_refuses_bad_input(tmp_path, runtime, out, extra, match):
    out = str(tmp_path / out)
    shape = [] if '--shape' in extra else ['--shape', '128', '128']
    with pytest.raises(ValueError, match=match):
        _deploy([DET_CFG, '--runtime', runtime, '--out', out] + shape +
                extra)
    assert not osp.exists(out)


def test_unknown_runtime_is_refused_by_name():
    from mmvit.deployment import runtimes
    with pytest.raises(ValueError, match="unknown runtime 'tflite'"):
        runtimes.check('tflite', 'fp32')
    with pytest.raises(SystemExit):  # argparse: message and exit code 2
        _deploy([DET_CFG, '--runtime', 'tflite', '--out', 'm.tflite',
                 '--shape', '128', '128'])


def test_deploy_refuses_checkpoint_and_calibration(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = _config(tmp_path)
    out = str(tmp_path / 'm.onnx')
    bad = str(tmp_path / 'bad.pth')
    torch.save({'state_dict': {'backbone.nope': torch.zeros(1)}}, bad)
    with pytest.raises(ValueError, match='does not match'):
        _deploy([config, bad, '--runtime', 'onnxruntime', '--out', out,
                 '--shape', '128', '128'])
    with pytest.raises(ValueError, match='only 12'):
        _deploy([config, '--runtime', 'onnxruntime', '--out', out,
                 '--shape', '128', '128', '--precision', 'int8',
                 '--calib', '13'])
    assert not osp.exists(out)


def test_scoring_refuses_bad_input(tmp_path):
    test = load_tool('deployment/test.py')
    with pytest.raises(FileNotFoundError, match='model file not found'):
        test.main([CLS_CFG, str(tmp_path / 'none.pte')])
    checkpoint = tmp_path / 'm.pth'
    checkpoint.write_bytes(b'')
    with pytest.raises(ValueError, match='needs --shape'):
        test.main([CLS_CFG, str(checkpoint)])
    other = tmp_path / 'm.tflite'
    other.write_bytes(b'')
    with pytest.raises(ValueError, match="no runtime reads '.tflite'"):
        test.main([CLS_CFG, str(other)])


def test_command_line_error_is_a_message_and_exit_2(tmp_path):
    result = subprocess.run(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'deployment',
                                  'deploy.py'), DET_CFG, '--runtime',
         'executorch', '--out', str(tmp_path / 'm.pte'), '--shape', '128',
         '128', '--with-nms'],
        capture_output=True, text=True, env=dict(os.environ,
                                                 PYTHONPATH=REPO_ROOT))
    assert result.returncode == 2
    assert 'error: ExecuTorch has no NMS op' in result.stderr
    assert 'Traceback' not in result.stderr


@pytest.mark.slow
def test_exported_classifier_scores_as_mmengine_test_loop(tmp_path,
                                                          monkeypatch):
    """Random weights on 8 generated val images: Accuracy through
    onnxruntime (fp32), OpenVINO (fp32) and the .pth path of
    tools/deployment/test.py equals mmengine's own test loop."""
    from mmvit.apis import build_model, build_runner, load_config
    monkeypatch.chdir(tmp_path)
    config = _config(tmp_path)
    torch.manual_seed(SEED)
    model = build_model(config)
    checkpoint = str(tmp_path / 'random.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    test = load_tool('deployment/test.py')
    results = {'pth': test.main([config, checkpoint, '--shape', '128', '128'])}
    for runtime, suffix in (('onnxruntime', '.onnx'), ('openvino', '.xml')):
        out = str(tmp_path / f'cls{suffix}')
        _deploy([config, checkpoint, '--runtime', runtime, '--out', out,
                 '--shape', '128', '128'])
        results[runtime] = test.main([config, out, '--threads', '1'])
    cfg = load_config(config, work_dir=str(tmp_path / 'work'))
    cfg.load_from = checkpoint
    cfg.test_dataloader.num_workers = 0
    cfg.test_dataloader.persistent_workers = False
    expected = build_runner(cfg).test()['accuracy/top1']
    for name, result in results.items():
        assert result['images'] == 8, name
        assert result['accuracy/top1'] == pytest.approx(expected), name
