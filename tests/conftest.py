import os

import pytest
import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def _seed_and_threads():
    """Deterministic, CPU-friendly tests."""
    torch.manual_seed(0)
    yield


@pytest.fixture
def repo_root() -> str:
    return REPO_ROOT
