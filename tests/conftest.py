import functools
import importlib.util
import os
from types import ModuleType

import pytest
import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@functools.lru_cache(maxsize=None)  # one instance per script (and its state)
def load_tool(path: str) -> ModuleType:
    """Import a script of ``tools/`` as a module, e.g.
    ``load_tool('deployment/export_onnx.py')``. Test files use it through
    ``from conftest import load_tool`` (tests/ is on ``sys.path``)."""
    name = 'mmvit_tools_' + path[:-len('.py')].replace('/', '_')
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(REPO_ROOT, 'tools', path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _isolated_test():
    """Deterministic tests that leave no default scope behind: a Runner (or
    ``init_default_scope``) in one test must not change how registries
    resolve in the next."""
    from mmengine.registry import DefaultScope
    torch.manual_seed(0)
    scopes = DefaultScope._instance_dict.copy()
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(scopes)


@pytest.fixture
def repo_root() -> str:
    return REPO_ROOT
