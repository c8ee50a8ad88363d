import copy
import functools
import importlib.util
import os
import random
import subprocess
from types import ModuleType

import numpy as np
import pytest
import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

if os.environ.get('PYTEST_XDIST_WORKER'):
    # pytest-xdist (setup.cfg: one worker per core): one torch thread per
    # worker, or two workers' thread pools fight over the same cores
    torch.set_num_threads(1)

#: The suite's base seed: ``MMVIT_TEST_SEED=7 pytest tests`` runs every test
#: on other random weights, inputs and generated data (default 0). Tests
#: derive their generators from it (:func:`torch_generator`, :func:`np_rng`)
#: instead of fixed seeds, so that no test can depend on a lucky seed.
SEED = int(os.environ.get('MMVIT_TEST_SEED', '0'))


def torch_generator(offset: int = 0) -> torch.Generator:
    """A torch generator for the ``offset``-th random stream of a test,
    seeded from :data:`SEED`."""
    return torch.Generator().manual_seed(SEED * 1000 + offset)


def np_rng(offset: int = 0) -> np.random.Generator:
    """A numpy generator for the ``offset``-th random stream of a test,
    seeded from :data:`SEED`."""
    return np.random.default_rng([SEED, offset])


def pytest_report_header(config):
    return f'mmvit test seed: {SEED} (set MMVIT_TEST_SEED to change)'


def num_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def randomize_norms(model: torch.nn.Module, offset: int = 0) -> torch.nn.Module:
    """Non-trivial BN statistics and affine parameters (of the size trained
    ones have, drawn from the suite's seed), so that folding, dropping or
    mis-mapping any BN term shows in the outputs. In place; returns
    ``model``."""
    from torch.nn.modules.batchnorm import _BatchNorm
    gen = torch_generator(offset)
    with torch.no_grad():
        for module in model.modules():
            if not isinstance(module, _BatchNorm):
                continue
            size = module.num_features
            if module.track_running_stats:
                module.running_mean.copy_(
                    torch.randn(size, generator=gen) * .1)
                module.running_var.copy_(
                    torch.rand(size, generator=gen) * .5 + .75)
            if module.affine:
                module.weight.copy_(torch.rand(size, generator=gen) * .5 + .75)
                module.bias.copy_(torch.randn(size, generator=gen) * .1)
    return model


def randomize_group_norms(model: torch.nn.Module,
                          offset: int) -> torch.nn.Module:
    """Non-trivial GroupNorm affine maps, so that swapping or dropping one
    (e.g. norm1 <-> norm2) shows in the outputs. In place; returns
    ``model``."""
    gen = torch_generator(offset)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.GroupNorm):
                size = module.num_channels
                module.weight.copy_(torch.rand(size, generator=gen) * .5 + .75)
                module.bias.copy_(torch.randn(size, generator=gen) * .1)
    return model


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


@functools.lru_cache(maxsize=None)
def _parsed_config(path: str):
    from mmengine.config import Config
    return Config.fromfile(path)


def parsed_config(path: str):
    """``Config.fromfile(path)``, parsed once per session (many test files
    read the same ~60 configs): a deep copy each call, so a test may edit
    it. Every test reads configs through it; a file must not change after
    its first read (tests write their generated configs once, under their
    own tmp paths). Tests of how the tools load a config call the tools
    instead."""
    return copy.deepcopy(_parsed_config(os.path.abspath(path)))


@functools.lru_cache(maxsize=None)
def built_model(path: str) -> torch.nn.Module:
    """``mmvit.apis.build_model(path)`` (random weights, eval mode), built
    once per session and shared: read it (parameter counts, module types),
    never modify it."""
    from mmvit.apis import build_model
    return build_model(os.path.abspath(path))


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
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    random.seed(SEED)
    scopes = DefaultScope._instance_dict.copy()
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(scopes)


@pytest.fixture
def repo_root() -> str:
    return REPO_ROOT
