"""fp32 parity of an exported ONNX graph: its outputs under onnxruntime
against the PyTorch wrapper it was exported from.

:func:`output_diffs` is the parity figure: per output, the largest
difference and that difference relative to the output's magnitude, the one
to hold against a float32 tolerance. onnxruntime runs on the CPU; the inputs
and the wrapper may sit on any device (tensors are moved to the CPU,
detached, before they become numpy arrays).
"""
from typing import List, Tuple

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor

from .wrappers import model_device


def _to_numpy(tensor: Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()


def run_onnxruntime(path: str, inputs: Tensor) -> List[np.ndarray]:
    """Outputs of the ONNX model at ``path`` on ``inputs`` (any device;
    onnxruntime runs on the CPU)."""
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    name = session.get_inputs()[0].name
    return session.run(None, {name: _to_numpy(inputs)})


def output_diffs(wrapper: nn.Module, path: str,
                 inputs: Tensor) -> List[Tuple[float, float]]:
    """Per output, ``(max|onnxruntime - PyTorch|, relative)`` on ``inputs``.

    For float outputs ``relative`` is the difference over ``max|PyTorch|``
    (float32 rounding differences scale with the outputs' magnitude, so this
    is the figure to hold against a tolerance; 0 where both are all zero).
    For integer outputs (argmax labels) it is the fraction of elements that
    differ: an argmax may flip wherever its two best logits lie within
    rounding of each other, so a few such elements are expected while a real
    defect changes most of them.
    """
    with torch.no_grad():
        expected = wrapper(inputs.to(model_device(wrapper)))
    if isinstance(expected, Tensor):
        expected = (expected, )
    actual = run_onnxruntime(path, inputs)
    diffs = []
    for exp, act in zip(expected, actual):
        exp = _to_numpy(exp)
        if exp.shape != act.shape:
            raise ValueError(f'output shapes differ: PyTorch {exp.shape}, '
                             f'onnxruntime {act.shape}')
        if exp.size == 0:
            diffs.append((0., 0.))
            continue
        delta = np.abs(exp.astype(np.float64) - act)
        diff = float(delta.max())
        if np.issubdtype(exp.dtype, np.integer):
            relative = float((delta > 0).mean())
        else:
            relative = diff / np.abs(exp).max() if diff > 0 else 0.
        diffs.append((diff, relative))
    return diffs


def max_abs_diff(wrapper: nn.Module, path: str, inputs: Tensor) -> List[float]:
    """Per output, the largest absolute difference between onnxruntime and
    PyTorch on ``inputs``."""
    return [diff for diff, _ in output_diffs(wrapper, path, inputs)]
