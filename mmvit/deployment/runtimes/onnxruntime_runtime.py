"""onnxruntime: the ONNX graph of :func:`mmvit.deployment.export_onnx`
(fp32, dynamic batch) and its static INT8 form.

INT8 is onnxruntime's ``quantize_static`` in QDQ format: per-channel
symmetric int8 weights, uint8 activations calibrated (MinMax) on the
calibration images. Only ``Conv`` and ``MatMul`` are quantized: the
element-wise tail (SiLU, LayerNorm / GroupNorm, softmax, the box decoding
and the preprocessing) stays float, because onnxruntime has no int8 kernel
for them and each one quantized adds a Q / DQ pair around float code.
"""
import os.path as osp
import tempfile
from typing import List, Sequence

import numpy as np
from torch import Tensor

NAME = 'onnxruntime'
SUFFIX = '.onnx'
PRECISIONS = ('fp32', 'int8')
QUANTIZED_OPS = ('Conv', 'MatMul')


def check(precision: str, with_nms: bool = False) -> None:
    """Everything of mmvit's wrappers exports to ONNX (NMS included)."""


def export(wrapper, out: str, input_shape: Sequence[int], precision: str,
           calibration: List[Tensor] = ()) -> dict:
    from ..onnx_graph import export_onnx
    if precision == 'fp32':
        export_onnx(wrapper, out, tuple(input_shape))
        return dict(quantized_ops=0)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = osp.join(tmp, 'fp32.onnx')
        export_onnx(wrapper, fp32, tuple(input_shape))
        return quantize(fp32, out, calibration)


class _Reader:
    """onnxruntime's calibration reader over the calibration images."""

    def __init__(self, name: str, images: List[Tensor]) -> None:
        self.feeds = iter([{name: img.numpy()} for img in images])

    def get_next(self):
        return next(self.feeds, None)


def quantize(fp32: str, out: str, calibration: List[Tensor]) -> dict:
    """Static QDQ INT8 of the fp32 graph ``fp32`` into ``out``."""
    import onnx
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process
    name = onnx.load(fp32, load_external_data=False).graph.input[0].name
    with tempfile.TemporaryDirectory() as tmp:
        prepared = osp.join(tmp, 'prepared.onnx')
        quant_pre_process(fp32, prepared, skip_symbolic_shape=True)
        quantize_static(
            prepared,
            out,
            _Reader(name, calibration),
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=list(QUANTIZED_OPS),
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax)
    graph = onnx.load(out, load_external_data=False).graph
    return dict(quantized_ops=sum(
        1 for n in graph.node if n.op_type == 'DequantizeLinear'
        and n.input[0] in {i.name for i in graph.initializer}))


def load(path: str, num_threads: int = None):
    import onnxruntime as ort
    from . import Session
    options = ort.SessionOptions()
    if num_threads:
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
    # no busy-waiting of idle workers after a call: they would take the
    # cores from whatever runs next (another model, the host's NMS)
    options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    session = ort.InferenceSession(
        path, options, providers=['CPUExecutionProvider'])
    inp = session.get_inputs()[0]
    precision = 'int8' if any(
        n.op_type == 'QuantizeLinear' for n in _graph_nodes(path)) else 'fp32'

    def run(images: np.ndarray) -> List[np.ndarray]:
        return session.run(None, {inp.name: images})

    return Session(run, inp.shape[-2:], precision)


def _graph_nodes(path: str):
    import onnx
    return onnx.load(path, load_external_data=False).graph.node
