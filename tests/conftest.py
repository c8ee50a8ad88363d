import functools
import importlib.util
import os
import subprocess
from types import ModuleType

import pytest
import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def num_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def set_norm(cfg, norm_cfg: dict) -> None:
    """Replace every ``norm_cfg`` of a model config in place, e.g. SyncBN ->
    BN (SyncBN needs a process group to train)."""
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            if key == 'norm_cfg' and value is not None:
                cfg[key] = dict(norm_cfg)
            else:
                set_norm(value, norm_cfg)
    elif isinstance(cfg, (list, tuple)):
        for item in cfg:
            set_norm(item, norm_cfg)


def run_ok(cmd, cwd: str, env: dict) -> str:
    """Run ``cmd``; assert it exits 0 (showing its output tail if not) and
    return stdout + stderr."""
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


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
