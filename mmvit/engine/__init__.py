"""Training-engine pieces for mmengine runners (hooks)."""
from .hooks import MidEpochResumeHook

__all__ = ['MidEpochResumeHook']
