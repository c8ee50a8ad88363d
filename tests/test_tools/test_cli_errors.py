"""A user's first error does not look like a crash (issue 24, item 6): the
command-line tools end an expected user error (missing data or checkpoint,
an unknown arch, channels that do not match) with ``error: <message>`` and
exit code 2, no traceback and no third-party deprecation noise; ``--debug``
or ``MMVIT_DEBUG=1`` shows the traceback, and a bug keeps it
(``mmvit.utils.cli.run_cli``). The CPU-fallback warning is two lines."""
import os
import os.path as osp
import subprocess
import sys
import warnings

import pytest
import torch
from conftest import REPO_ROOT, load_tool

from mmvit.apis import GPUExpectationWarning
from mmvit.converters import FormatMismatchError
from mmvit.utils.cli import is_user_error, run_cli

COCO_S = osp.join(REPO_ROOT, 'configs', 'ssdlite_mobilevit_s_coco.py')
SHAPES = osp.join(REPO_ROOT, 'configs', 'ssdlite_mobilevit_xxs_shapes.py')


def _run(args, cwd):
    """A tool of tools/ as a user runs it, in ``cwd``."""
    env = {k: v for k, v in os.environ.items() if k != 'MMVIT_DEBUG'}
    return subprocess.run([sys.executable] +
                          [osp.join(REPO_ROOT, 'tools', args[0])] + args[1:],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)


@pytest.fixture
def cli(monkeypatch):
    """``run_cli`` in this process, with ``sys.argv``, ``MMVIT_DEBUG`` and
    the warning filters and format it sets restored afterwards."""
    monkeypatch.setenv('MMVIT_DEBUG', '')  # off, and unset afterwards
    monkeypatch.setattr(warnings, 'formatwarning', warnings.formatwarning)

    def run(main, argv):
        monkeypatch.setattr(sys, 'argv', ['tool.py'] + argv)
        with warnings.catch_warnings():
            warnings.simplefilter('default')  # as outside pytest
            return run_cli(main)

    return run


def test_train_without_coco_is_a_message_not_a_crash(tmp_path):
    """The issue's command, where there is no data/coco."""
    proc = _run(['train.py', COCO_S], tmp_path)
    assert proc.returncode == 2, proc.stderr[-3000:]
    err = proc.stderr
    assert err.count('error: Dataset files of') == 1
    assert 'data_root data/coco/' in err
    assert 'or run on the embedded generated data instead' in err
    assert 'Traceback' not in err
    assert 'pkg_resources' not in proc.stdout + err
    if not torch.cuda.is_available():  # the SyncBN config: CPU fallback
        lines = err.splitlines()
        first = [i for i, line in enumerate(lines)
                 if line.startswith('warning: This run expects GPUs')]
        assert len(first) == 1, err
        assert 'SyncBN -> BN' in lines[first[0]]
        assert lines[first[0] + 1].startswith('For GPUs, install a CUDA ')
        assert lines[first[0] + 2].startswith('error: ')  # two lines only


def test_debug_shows_the_traceback(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match='Dataset files of'):
        cli(load_tool('train.py').main, [COCO_S, '--debug'])


def test_missing_checkpoint_exits_2(cli, capsys):
    with pytest.raises(SystemExit) as e:
        cli(load_tool('test.py').main, [SHAPES, 'missing.pth'])
    assert e.value.code == 2
    assert capsys.readouterr().err == ('error: checkpoint file not found: '
                                       'missing.pth\n')


def test_converter_exits_2_in_process_too(tmp_path, capsys):
    """Its main() ends with the message and exit code 2 when called from
    Python as well, as it always did (``SystemExit``)."""
    tool = load_tool('model_converters/mobilevit2mmvit.py')
    with pytest.raises(SystemExit, match='error: checkpoint not found') as e:
        tool.main([str(tmp_path / 'nothere.pt'), str(tmp_path / 'o.pth')])
    assert e.value.code == 2
    assert 'error: checkpoint not found' in capsys.readouterr().err


@pytest.mark.parametrize('options,message', [
    (['model.backbone.arch=tiny'], "unknown MobileViT arch 'tiny'"),
    (['model.neck.in_channels=[1,2]'], 'model.neck.in_channels is (1, 2)'),
])
def test_wrong_arch_and_channels_exit_2(cli, capsys, tmp_path, monkeypatch,
                                        options, message):
    """The preflight's checks through tools/train.py's main and run_cli."""
    monkeypatch.chdir(tmp_path)  # no checkpoints/, nothing written here
    train = load_tool('train.py')
    argv = [SHAPES, '--cfg-options', 'model.backbone.init_cfg=None'] + options
    with pytest.raises(SystemExit) as e:
        cli(train.main, argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert 'error: ' in err and message in err
    assert 'Traceback' not in err


def test_env_variable_re_raises(cli, monkeypatch):
    monkeypatch.setenv('MMVIT_DEBUG', '1')

    def main():
        raise FileNotFoundError('no such file: x')

    with pytest.raises(FileNotFoundError, match='no such file'):
        cli(main, [])


def test_debug_flag_is_taken_off_the_arguments(cli):
    seen = {}

    def main():
        seen['argv'] = sys.argv[1:]
        seen['debug'] = os.environ.get('MMVIT_DEBUG')
        raise ValueError('bad value')

    with pytest.raises(ValueError, match='bad value'):  # re-raised
        cli(main, ['cfg.py', '--debug', '--', '--debug'])
    assert seen == {'argv': ['cfg.py', '--', '--debug'], 'debug': '1'}


def test_a_bug_keeps_its_traceback(cli):

    def main():
        return {}['backbone']  # a failed lookup, not a user error

    with pytest.raises(KeyError):
        cli(main, [])
    with pytest.raises(RuntimeError):
        cli(lambda: torch.zeros(2) @ torch.zeros(3), [])


def test_user_errors():
    assert is_user_error(FileNotFoundError('checkpoint not found: a.pth'))
    assert is_user_error(FormatMismatchError('timm', 'cvnets'))
    assert is_user_error(ValueError('checkpoint a.pth does not match'))
    assert is_user_error(KeyError("unknown MobileViT arch 'tiny'; valid "
                                  "archs are ['small']"))
    assert is_user_error(KeyError('Foo is not in the mmdet::model registry'))
    assert not is_user_error(KeyError('backbone'))
    assert not is_user_error(KeyError(3))
    assert not is_user_error(RuntimeError('shape mismatch'))
    assert not is_user_error(TypeError('unexpected keyword argument'))


def test_noise_hidden_and_own_warnings_without_source_line(cli):

    def main():
        with warnings.catch_warnings(record=True) as caught:
            warnings.warn('pkg_resources is deprecated as an API. See ...',
                          UserWarning)
            warnings.warn('something else', UserWarning)
        return [str(w.message) for w in caught]

    assert cli(main, []) == ['something else']  # nothing else is hidden
    assert warnings.formatwarning('first line\nsecond line',
                                  GPUExpectationWarning, 'apis.py',
                                  1) == 'warning: first line\nsecond line\n'
    assert 'UserWarning: other' in warnings.formatwarning(
        'other', UserWarning, 'x.py', 1)
