"""mmengine hooks, registered in ``mmvit.registry.HOOKS``."""
from .mid_epoch_resume_hook import MidEpochResumeHook

__all__ = ['MidEpochResumeHook']
