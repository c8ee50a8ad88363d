"""Foundations every part of mmvit may use: the training device and its
checks, FLOP counting, the command-line tools' error handling."""
from .device import (DeterministicCUDAWarning, check_mmcv_cuda_ops,
                     check_training_device, training_device)
from .flops import count_flops

__all__ = [
    'DeterministicCUDAWarning', 'check_mmcv_cuda_ops',
    'check_training_device', 'count_flops', 'training_device'
]
