"""Checks of an exported ONNX graph: its opset, its tensor ranks, and its
outputs under onnxruntime against the PyTorch wrapper it was exported from.

:func:`max_tensor_rank` holds the graph to rank 5 (CoreML's limit).
:func:`output_diffs` is the parity figure: per output, the largest
difference and that difference relative to the output's magnitude, the one
to hold against a float32 tolerance. onnxruntime runs on the CPU; the inputs
and the wrapper may sit on any device (tensors are moved to the CPU,
detached, before they become numpy arrays).
"""
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor

from .wrappers import model_device


def _to_numpy(tensor: Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()


def _load(model_or_path):
    import onnx
    if isinstance(model_or_path,
                  (str, bytes)) or hasattr(model_or_path, '__fspath__'):
        return onnx.load(model_or_path)
    return model_or_path


def opset_version(model_or_path) -> int:
    """The default-domain opset of an ONNX model."""
    model = _load(model_or_path)
    return max(
        o.version for o in model.opset_import if o.domain in ('', 'ai.onnx'))


def tensor_ranks(model_or_path) -> Dict[str, Tuple[str, int]]:
    """``{tensor: (producing op, rank)}`` for every node output whose rank
    ONNX shape inference knows; a Reshape's rank is also read off the
    length of its static target shape."""
    import onnx
    from onnx import numpy_helper
    model = onnx.shape_inference.infer_shapes(_load(model_or_path))
    graph = model.graph
    rank = {}
    for value in list(graph.value_info) + list(graph.output) + list(
            graph.input):
        tensor_type = value.type.tensor_type
        if tensor_type.HasField('shape'):
            rank[value.name] = len(tensor_type.shape.dim)
    static_shapes = {
        init.name: numpy_helper.to_array(init)
        for init in graph.initializer
    }
    for node in graph.node:
        if node.op_type == 'Constant':
            for attr in node.attribute:
                if attr.name == 'value':
                    static_shapes[node.output[0]] = numpy_helper.to_array(
                        attr.t)
    ranks = {}
    for node in graph.node:
        for out in node.output:
            if out in rank:
                ranks[out] = (node.op_type, rank[out])
        if node.op_type == 'Reshape' and node.input[1] in static_shapes:
            target = len(static_shapes[node.input[1]].reshape(-1))
            prev = ranks.get(node.output[0], (node.op_type, 0))[1]
            ranks[node.output[0]] = (node.op_type, max(prev, target))
    return ranks


def max_tensor_rank(model_or_path, limit: Optional[int] = 5) -> int:
    """The highest tensor rank in the graph; raises ``ValueError`` naming
    the ops when it exceeds ``limit`` (5: the CoreML blocker)."""
    ranks = tensor_ranks(model_or_path)
    highest = max((r for _, r in ranks.values()), default=0)
    if limit is not None and highest > limit:
        bad = sorted({(op, r) for op, r in ranks.values() if r > limit})
        raise ValueError(f'the graph has tensors of rank > {limit}: '
                         f'{bad} (op, rank)')
    return highest


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
