from .checks import check_config
from .dist import (build_runner, init_cpu_process_group, load_config,
                   prepare_distributed)
from .flops import count_flops

__all__ = [
    'build_runner', 'check_config', 'count_flops', 'init_cpu_process_group',
    'load_config', 'prepare_distributed'
]
