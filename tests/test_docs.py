"""README.md and the guides in docs/en stay true: the guides build with
Sphinx + myst with warnings as errors (a broken link, cross-reference,
include or image fails), their Python snippets run, every repository path
they name exists, every tool their bash blocks run is run by a test, and
README's install and test commands are what CI runs."""
import glob
import os.path as osp
import re
import shlex
import subprocess
import sys

import pytest
from doc_helpers import (REPO_ROOT, bash_commands, code_blocks, command_lines,
                         doc_paths, doc_text)

DOCS = doc_paths()
PYTHON_BLOCKS = [(path, index, block) for path in DOCS
                 for index, block in enumerate(code_blocks(path, 'python'))]
NAMED_PATH = re.compile(
    r'(?<![\w/.-])((?:configs|tools|mmvit|tests|docs)/[\w./-]+\.'
    r'(?:py|sh|md|png|jpg|txt))')
BUILD_COMMAND = '.venv/bin/python -m sphinx '


def test_docs_are_found():
    assert 'docs/en/index.md' in DOCS and 'docs/en/get_started.md' in DOCS
    assert any(p.startswith('docs/en/user_guides/') for p in DOCS)
    assert any(p.startswith('docs/en/advanced_guides/') for p in DOCS)


@pytest.mark.parametrize('path,index,block', PYTHON_BLOCKS,
                         ids=[f'{p}[{i}]' for p, i, _ in PYTHON_BLOCKS])
def test_python_snippet_runs(path, index, block):
    exec(compile(block, f'{path}[{index}]', 'exec'), {})


@pytest.mark.parametrize('path', DOCS)
def test_named_paths_exist(path):
    paths = set(NAMED_PATH.findall(doc_text(path)))
    missing = sorted(p for p in paths
                     if not osp.exists(osp.join(REPO_ROOT, p)))
    assert not missing


def test_install_and_test_commands_are_what_ci_runs():
    readme = doc_text('README.md')
    ci = open(osp.join(REPO_ROOT, '.ci', 'run'), encoding='utf-8').read()
    for command in ('bash tools/install.sh',
                    '.venv/bin/python -m pytest tests'):
        assert f'```bash\n{command}\n```' in readme
        assert f'\n{command}\n' in ci


def _tests_text() -> str:
    """Every test module and helper except this file, and CI's script."""
    files = glob.glob(osp.join(REPO_ROOT, 'tests', '**', '*.py'),
                      recursive=True)
    files = [f for f in files if osp.basename(f) != 'test_docs.py']
    files.append(osp.join(REPO_ROOT, '.ci', 'run'))
    return '\n'.join(
        open(f, encoding='utf-8').read() for f in sorted(files))


def test_every_tool_the_docs_run_is_run_by_a_test():
    """A script of tools/ in a bash block of README or docs/en is named by
    a test (its path under tools/, or its quoted file name, as
    ``load_tool`` and the launch helpers take them) or by CI."""
    tests = _tests_text()
    scripts = set()
    for path in DOCS:
        for command in bash_commands(path):
            scripts.update(re.findall(r'\btools/([\w/]+\.(?:py|sh))\b',
                                      command))
    assert 'demo.py' in scripts and 'deployment/export_onnx.py' in scripts
    untested = sorted(
        s for s in scripts
        if s not in tests and f"'{osp.basename(s)}'" not in tests)
    assert not untested


def test_docs_build_without_warnings(tmp_path):
    """get_started.md's build command as written (warnings as errors),
    with this interpreter and a scratch output folder."""
    pytest.importorskip('sphinx')
    pytest.importorskip('myst_parser')
    command, = command_lines(BUILD_COMMAND)
    argv = shlex.split(command)
    assert argv[-2] == 'docs/en' and {'-W', '--keep-going'} <= set(argv)
    argv = [sys.executable] + argv[1:-1] + [str(tmp_path / 'html')]
    build = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True,
                           text=True)
    assert build.returncode == 0, build.stdout + build.stderr
    for page in ('index', 'get_started', 'user_guides/deployment',
                 'advanced_guides/multiscale_sampler'):
        assert (tmp_path / 'html' / f'{page}.html').is_file()
    # README's demo results, included into get_started, and the pictures
    get_started = (tmp_path / 'html' / 'get_started.html').read_text()
    assert 'demo-results' not in get_started
    assert 'bbox mAP 0.665' in get_started
    for picture in glob.glob(osp.join(REPO_ROOT, 'docs', 'demo', '*')):
        assert (tmp_path / 'html' / '_images' /
                osp.basename(picture)).is_file()
