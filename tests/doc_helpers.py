"""README.md and the guides under docs/en: their text, code blocks and
command lines, for the tests that check or run what the docs say.

Test files use it through ``from doc_helpers import command_lines`` (tests/
is on ``sys.path``), so a test finds a command wherever the docs keep it.
"""
import glob
import os.path as osp
import re
from typing import List

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DOCS_SOURCE = osp.join('docs', 'en')


def doc_paths() -> List[str]:
    """README.md, then every page of docs/en, relative to the repository
    root (a local build under docs/en/_build left out)."""
    pattern = osp.join(REPO_ROOT, DOCS_SOURCE, '**', '*.md')
    pages = (osp.relpath(p, REPO_ROOT) for p in glob.glob(pattern,
                                                          recursive=True))
    return ['README.md'] + sorted(
        p for p in pages if '_build' not in p.split(osp.sep))


def doc_text(path: str) -> str:
    """The text of a doc, ``path`` relative to the repository root."""
    with open(osp.join(REPO_ROOT, path), encoding='utf-8') as f:
        return f.read()


def code_blocks(path: str, language: str) -> List[str]:
    """The fenced ``language`` blocks of a doc, in order."""
    return re.findall(rf'^```{language}\n(.*?)^```', doc_text(path),
                      re.S | re.M)


def bash_commands(path: str) -> List[str]:
    """The command lines of a doc's bash blocks, backslash continuations
    joined into one line."""
    commands = []
    for block in code_blocks(path, 'bash'):
        for command in re.sub(r'\\\n\s*', '', block).splitlines():
            if command.strip():
                commands.append(command.strip())
    return commands


def command_lines(prefix: str) -> List[str]:
    """Every bash command of README and docs/en that starts with
    ``prefix``, in the docs' order, each once."""
    found = []
    for path in doc_paths():
        found += [c for c in bash_commands(path) if c.startswith(prefix)]
    return list(dict.fromkeys(found))
