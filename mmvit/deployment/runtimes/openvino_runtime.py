"""OpenVINO: the x86 server path (IR ``.xml`` + ``.bin``).

The IR is converted from mmvit's ONNX graph (:func:`export_onnx`), weights
kept in fp32 and the batch left dynamic: with it fixed to 1, OpenVINO
2026.4's CPU plugin picks other kernels whose fp32 results are 0.75 %
(relative) off PyTorch's on MobileViT-XXS, and no faster (2.5 vs 2.1 ms).
The precision the CPU computes in is stored in the IR
(``rt_info['mmvit_precision']``) and applied when it is loaded, because
OpenVINO's own default on a CPU with AVX512-BF16 or AMX is bf16, which
would make an "fp32" figure a bf16 one:

* ``fp32``: ``INFERENCE_PRECISION_HINT=f32``;
* ``bf16``: the same IR with ``INFERENCE_PRECISION_HINT=bf16`` (refused on a
  CPU without bf16 support);
* ``int8``: NNCF post-training quantization (``nncf.quantize``) of the IR.
  NNCF places int8 only where the CPU plugin has int8 kernels (convolutions,
  matmuls, and the element-wise ops between them that oneDNN fuses as
  post-ops); SiLU / sigmoid, LayerNorm / GroupNorm (MVN) and softmax stay in
  the inference precision. ``model_type=TRANSFORMER`` keeps the attention
  softmax and its inputs unquantized and applies SmoothQuant to the
  matmuls; every op after the last convolution (the detector's box
  decoding and softmax, the segmentor's resize) is excluded
  (:func:`_float_tail`), so boxes keep float coordinates.
"""
import os.path as osp
import tempfile
from typing import List, Sequence

import numpy as np
from torch import Tensor

NAME = 'openvino'
SUFFIX = '.xml'
PRECISIONS = ('fp32', 'bf16', 'int8')
_HINT = dict(fp32='f32', bf16='bf16', int8='f32')
_RT_KEY = 'mmvit_precision'


def cpu_has_bf16() -> bool:
    """Whether OpenVINO's CPU plugin computes in bf16 on this machine."""
    import openvino as ov
    capabilities = ov.Core().get_property('CPU', 'OPTIMIZATION_CAPABILITIES')
    return 'BF16' in capabilities


def check(precision: str, with_nms: bool = False) -> None:
    if precision == 'bf16' and not cpu_has_bf16():
        raise ValueError('this CPU has no bf16 support (AVX512-BF16 or AMX) '
                         'for OpenVINO: export fp32 or int8')


def export(wrapper, out: str, input_shape: Sequence[int], precision: str,
           calibration: List[Tensor] = ()) -> dict:
    from ..onnx_graph import export_onnx
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = osp.join(tmp, 'model.onnx')
        export_onnx(wrapper, onnx_path, tuple(input_shape))
        return from_onnx(onnx_path, out, precision, calibration)


def from_onnx(onnx_path: str, out: str, precision: str,
              calibration: List[Tensor] = ()) -> dict:
    """The IR of an mmvit ONNX graph (see :func:`export`)."""
    import openvino as ov
    model = ov.convert_model(onnx_path)
    report = dict(quantized_ops=0)
    if precision == 'int8':
        model, report = quantize(model, calibration)
    model.set_rt_info(precision, _RT_KEY)
    ov.save_model(model, out, compress_to_fp16=False)
    return report


def _float_tail(model) -> List[str]:
    """Names of the ops after the last convolution (the detector's box
    decoding and softmax, the segmentor's resize): kept in float."""
    ops = model.get_ordered_ops()
    last_conv = max(
        (i for i, op in enumerate(ops)
         if op.get_type_name() in ('Convolution', 'GroupConvolution')),
        default=len(ops))
    return [op.get_friendly_name() for op in ops[last_conv + 1:]
            if op.get_type_name() not in ('Result', 'Constant')]


def quantize(model, calibration: List[Tensor]):
    """NNCF INT8 of ``model`` calibrated on ``calibration``."""
    import nncf
    ignored = nncf.IgnoredScope(names=_float_tail(model), validate=False)
    quantized = nncf.quantize(
        model,
        nncf.Dataset([img.numpy() for img in calibration]),
        subset_size=len(calibration),
        model_type=nncf.ModelType.TRANSFORMER,
        ignored_scope=ignored)
    fake_quantize = sum(1 for op in quantized.get_ops()
                        if op.get_type_name() == 'FakeQuantize')
    return quantized, dict(quantized_ops=fake_quantize)


def load(path: str, num_threads: int = None):
    import openvino as ov
    from . import Session
    core = ov.Core()
    model = core.read_model(path)
    precision = (model.get_rt_info(_RT_KEY).astype(str)
                 if model.has_rt_info(_RT_KEY) else 'fp32')
    config = {
        'PERFORMANCE_HINT': 'LATENCY',
        'INFERENCE_PRECISION_HINT': _HINT[precision]
    }
    if num_threads:
        config['INFERENCE_NUM_THREADS'] = int(num_threads)
    compiled = core.compile_model(model, 'CPU', config)
    request = compiled.create_infer_request()
    outputs = compiled.outputs

    def run(images: np.ndarray) -> List[np.ndarray]:
        result = request.infer({0: images})
        return [np.array(result[out]) for out in outputs]

    shape = compiled.input(0).get_partial_shape()
    return Session(run, (shape[2].get_length(), shape[3].get_length()),
                   precision)
