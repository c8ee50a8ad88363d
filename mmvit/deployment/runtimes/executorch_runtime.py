"""ExecuTorch: ``.pte`` programs with the XNNPACK delegate (the CPU backend
of ExecuTorch on Android and iOS).

The model's LayerNorms, attention and one-group GroupNorms are first
rewritten in ops XNNPACK has (:mod:`mmvit.deployment.xnnpack_rewrites`),
then ``torch.export`` at batch 1 -> ``to_edge_transform_and_lower`` with
the XNNPACK partitioner -> ``.pte``. Every op the partitioner does not
take runs in ExecuTorch's portable kernels; :func:`export` reports them by name
(``outside_delegate``). There is no NMS op on device: a detector exports
its decoded boxes and scores, and NMS runs on the host
(:mod:`mmvit.deployment.postprocess`).

INT8 is PT2E (``prepare_pt2e`` / ``convert_pt2e``) with ExecuTorch's
``XNNPACKQuantizer``: per-channel symmetric int8 weights, int8
activations over their calibrated min / max. Only the network
(``model.*``: backbone, neck, head) is annotated; the preprocessing, the
box decoding and the softmax of the wrapper stay float, and so do the
norms' statistics (:data:`~mmvit.deployment.xnnpack_rewrites.FLOAT_MODULES`).
SiLU and the attention softmax run in fp32 between a dequantize and a
quantize.
"""
from typing import List, Sequence

import numpy as np
import torch
from torch import Tensor

from ..xnnpack_rewrites import FLOAT_MODULES, for_xnnpack

NAME = 'executorch'
SUFFIX = '.pte'
PRECISIONS = ('fp32', 'int8')
# the wrapper's submodule that INT8 quantizes (see the module docstring)
QUANTIZED_MODULES = ('model', 'backbone')
# a constant method of the program: 1 for an INT8 program
_INT8_METHOD = 'mmvit_int8'


def check(precision: str, with_nms: bool = False) -> None:
    if with_nms:
        raise ValueError('ExecuTorch has no NMS op (mmvit::nms_mask): '
                         'export the detector without --with-nms; NMS runs '
                         'in the host post-processing')


def _config():
    """XNNPACK's static per-channel config with min / max activation
    ranges, as onnxruntime's and NNCF's (its default HistogramObserver
    clips the tails of conv outputs, trading their error for the mean's)."""
    import dataclasses

    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import \
        get_symmetric_quantization_config
    from torchao.quantization.pt2e import MinMaxObserver
    config = get_symmetric_quantization_config(is_per_channel=True)
    activation = dataclasses.replace(
        config.input_activation,
        observer_or_fake_quant_ctr=MinMaxObserver.with_args(eps=2**-12))
    return dataclasses.replace(
        config, input_activation=activation, output_activation=activation)


def _quantize(wrapper, example: Tensor, calibration: List[Tensor]):
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import \
        XNNPACKQuantizer
    from torchao.quantization.pt2e.quantize_pt2e import (convert_pt2e,
                                                         prepare_pt2e)
    names = [n for n in QUANTIZED_MODULES if hasattr(wrapper, n)]

    floats = tuple(cls.__qualname__ for cls in FLOAT_MODULES)

    def in_network(node) -> bool:
        # XNNPACKQuantizer.set_module_name quantizes nothing here: its filter
        # also sees the weights, which have no module stack
        stack = node.meta.get('nn_module_stack')
        if not stack:
            return True
        if any(str(kind).endswith(floats) for _, kind in stack.values()):
            return False  # the norms' statistics stay float
        return not names or any(
            path == name or path.startswith(name + '.')
            for path, _ in stack.values() for name in names)

    quantizer = XNNPACKQuantizer().set_global(_config())
    quantizer.set_filter_function(in_network)
    graph = torch.export.export(wrapper, (example, )).module()
    prepared = prepare_pt2e(graph, quantizer)
    with torch.no_grad():
        for image in calibration:
            prepared(image)
    return convert_pt2e(prepared)


def export(wrapper, out: str, input_shape: Sequence[int], precision: str,
           calibration: List[Tensor] = ()) -> dict:
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import \
        XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower
    example = torch.rand(1, 3, *input_shape) * 255
    module = for_xnnpack(wrapper)
    if precision == 'int8':
        module = _quantize(module, example, calibration)
    with torch.no_grad():
        program = torch.export.export(module, (example, ))
    edge = to_edge_transform_and_lower(
        program,
        partitioner=[XnnpackPartitioner()],
        constant_methods={_INT8_METHOD: int(precision == 'int8')})
    outside = sorted({
        str(getattr(node.target, '__name__', node.target))
        for node in edge.exported_program().graph_module.graph.nodes
        if node.op == 'call_function'
        and 'executorch_call_delegate' not in str(node.target)
        and 'getitem' not in str(node.target)
    })
    with open(out, 'wb') as f:
        f.write(edge.to_executorch().buffer)
    return dict(outside_delegate=outside)


def set_num_threads(num_threads: int) -> None:
    """XNNPACK's thread pool size (process-wide)."""
    from executorch.extension.pybindings import portable_lib
    portable_lib._unsafe_reset_threadpool(int(num_threads))


def load(path: str, num_threads: int = None):
    from executorch.runtime import Runtime
    from . import Session
    if num_threads:
        set_num_threads(num_threads)
    program = Runtime.get().load_program(path)
    method = program.load_method('forward')
    shape = method.metadata.input_tensor_meta(0).sizes()
    int8 = _INT8_METHOD in program.method_names and int(
        program.load_method(_INT8_METHOD).execute([])[0]) == 1
    precision = 'int8' if int8 else 'fp32'

    def run(images: np.ndarray) -> List[np.ndarray]:
        outputs = method.execute([torch.from_numpy(images)])
        return [o.numpy() for o in outputs]

    return Session(run, shape[-2:], precision)
