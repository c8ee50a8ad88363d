from .dist import init_cpu_process_group, prepare_distributed
from .flops import count_flops

__all__ = ['count_flops', 'init_cpu_process_group', 'prepare_distributed']
