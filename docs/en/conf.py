"""Sphinx configuration of mmvit's documentation (Markdown through myst).

Build: ``python -m sphinx -W --keep-going -b html docs/en docs/en/_build/html``
(``tests/test_docs.py`` builds it so, warnings as errors).
"""
import os.path as osp

HERE = osp.dirname(osp.abspath(__file__))
_version = {}
with open(osp.join(HERE, '..', '..', 'mmvit', 'version.py'),
          encoding='utf-8') as f:
    exec(f.read(), _version)

project = 'mmvit'
author = 'mmvit contributors'
copyright = 'mmvit contributors, Apache-2.0'
version = release = _version['__version__']

extensions = ['myst_parser']
source_suffix = {'.md': 'markdown'}
root_doc = 'index'
exclude_patterns = ['_build']
# `[text](page.md#a-heading)` links resolve to headings up to level 3,
# with GitHub's slugs, so the same links work on GitHub and in the build
myst_heading_anchors = 3

html_theme = 'alabaster'
html_title = f'mmvit {release}'
