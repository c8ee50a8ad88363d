"""README.md stays true: its Python snippets run, and every repository path
it names exists."""
import os.path as osp
import re

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
README = open(osp.join(REPO_ROOT, 'README.md'), encoding='utf-8').read()
PYTHON_BLOCKS = re.findall(r'```python\n(.*?)```', README, re.S)


@pytest.mark.parametrize('index', range(len(PYTHON_BLOCKS)))
def test_python_snippet_runs(index):
    exec(compile(PYTHON_BLOCKS[index], f'README[{index}]', 'exec'), {})


def test_named_paths_exist():
    paths = set(
        re.findall(r'(?<![\w/.-])((?:configs|tools|mmvit|tests)/[\w./-]+\.'
                   r'(?:py|sh))', README))
    assert paths
    missing = sorted(p for p in paths if not osp.exists(osp.join(REPO_ROOT, p)))
    assert not missing


def test_install_and_test_commands_are_what_ci_runs():
    ci = open(osp.join(REPO_ROOT, '.ci', 'run'), encoding='utf-8').read()
    for command in ('bash tools/install.sh',
                    '.venv/bin/python -m pytest tests'):
        assert f'```bash\n{command}\n```' in README
        assert f'\n{command}\n' in ci
