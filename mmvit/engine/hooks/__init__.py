"""mmengine hooks, registered in ``mmvit.registry.HOOKS``."""
from .compile_backbone_hook import CompileBackboneHook
from .mid_epoch_resume_hook import MidEpochResumeHook

__all__ = ['CompileBackboneHook', 'MidEpochResumeHook']
