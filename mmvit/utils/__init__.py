from .checks import check_config
from .device import (DeterministicCUDAWarning, check_mmcv_cuda_ops,
                     check_training_device, training_device)
# re-export for one release (issue 15): these live in mmvit.apis now
from .dist import (GPUExpectationWarning, build_runner, gpu_expectations,
                   init_cpu_process_group, load_config, prepare_distributed)
from .flops import count_flops

__all__ = [
    'DeterministicCUDAWarning', 'GPUExpectationWarning', 'build_runner',
    'check_config', 'check_mmcv_cuda_ops', 'check_training_device',
    'count_flops', 'gpu_expectations', 'init_cpu_process_group',
    'load_config', 'prepare_distributed', 'training_device'
]
