"""Moved to :mod:`mmvit.apis` (config loading, runners and the CPU / gloo
fallback of distributed launches); this module only re-exports them."""
# re-export for one release (issue 15)
from mmvit.apis import (GPUExpectationWarning, build_runner, gpu_expectations,
                        init_cpu_process_group, load_config,
                        prepare_distributed)

__all__ = [
    'GPUExpectationWarning', 'build_runner', 'gpu_expectations',
    'init_cpu_process_group', 'load_config', 'prepare_distributed'
]
