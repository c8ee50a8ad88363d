import os

import pytest
import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
