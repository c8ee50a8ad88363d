"""The runtimes an mmvit model deploys to, one module each, one interface.

Each runtime module has ``NAME``, ``SUFFIX`` (the file it writes),
``PRECISIONS`` (what it exports), ``check(precision, with_nms)`` (raises a
``ValueError`` naming what the runtime cannot take, before any heavy work),
``export(wrapper, out, input_shape, precision, calibration)`` (writes the
file, returns a report) and ``load(path, num_threads)`` (a :class:`Session`).

* ``onnxruntime``: ONNX (fp32; INT8 by onnxruntime's static QDQ quantizer);
* ``openvino``: OpenVINO IR for x86 servers (fp32, bf16 where the CPU has
  it, INT8 by NNCF);
* ``executorch``: ``.pte`` with the XNNPACK delegate, what Android and iOS
  CPUs run (fp32; INT8 by PT2E with the XNNPACK quantizer).

PyTorch itself (:func:`mmvit.deployment.fuse.switch_to_deploy`) is the
reference every runtime is held to.
"""
import importlib
import os.path as osp
from typing import Callable, List, Sequence

import numpy as np

RUNTIMES = ('onnxruntime', 'openvino', 'executorch')
PRECISIONS = ('fp32', 'bf16', 'int8')
_MODULES = dict(
    onnxruntime='onnxruntime_runtime',
    openvino='openvino_runtime',
    executorch='executorch_runtime')


def get_runtime(name: str):
    """The module of runtime ``name``; ``ValueError`` naming the choices
    for an unknown one."""
    if name not in _MODULES:
        raise ValueError(f'unknown runtime {name!r}: choose one of '
                         f'{", ".join(RUNTIMES)}')
    return importlib.import_module(f'{__name__}.{_MODULES[name]}')


def runtime_of(path: str) -> str:
    """The runtime that reads the file ``path``, by its suffix."""
    suffix = osp.splitext(path)[1]
    for name in RUNTIMES:
        if get_runtime(name).SUFFIX == suffix:
            return name
    raise ValueError(f'{path}: no runtime reads {suffix!r} files (known: '
                     + ', '.join(f'{get_runtime(n).SUFFIX} ({n})'
                                 for n in RUNTIMES) + ')')


def check(runtime: str, precision: str, with_nms: bool = False) -> None:
    """``ValueError`` naming the problem unless ``runtime`` exports
    ``precision`` on this machine (and NMS, when asked for)."""
    module = get_runtime(runtime)
    if precision not in module.PRECISIONS:
        raise ValueError(f'{runtime} exports {", ".join(module.PRECISIONS)}'
                         f', not {precision!r}')
    module.check(precision, with_nms)


class Session:
    """A loaded model: ``session(images)`` -> the outputs (numpy) for
    ``images [B, 3, H, W]`` float32 pixels. A model exported for batch 1
    runs a batch image by image.

    Args:
        run (Callable): ``[1, 3, H, W]`` array -> list of output arrays.
        input_shape (Sequence[int]): The model's ``(H, W)``.
        precision (str): What the session computes in.
    """

    def __init__(self, run: Callable, input_shape: Sequence[int],
                 precision: str) -> None:
        self.run = run
        self.input_shape = tuple(int(s) for s in input_shape)
        self.precision = precision

    def __call__(self, images) -> List[np.ndarray]:
        images = np.ascontiguousarray(
            images.detach().cpu().numpy() if hasattr(images, 'detach')
            else images, dtype=np.float32)
        if tuple(images.shape[-2:]) != self.input_shape:
            raise ValueError(f'the model takes {self.input_shape[0]}x'
                             f'{self.input_shape[1]} images, got '
                             f'{images.shape[-2]}x{images.shape[-1]}')
        per_image = [self.run(images[i:i + 1]) for i in range(len(images))]
        return [
            np.concatenate([outs[k] for outs in per_image])
            for k in range(len(per_image[0]))
        ]


def load(path: str, num_threads: int = None) -> Session:
    """The :class:`Session` of an exported file (runtime by its suffix)."""
    if not osp.exists(path):
        raise FileNotFoundError(f'model file not found: {path}')
    return get_runtime(runtime_of(path)).load(path, num_threads)


def file_size(path: str) -> int:
    """Bytes of an exported model (OpenVINO: the ``.xml`` and its
    ``.bin``)."""
    size = osp.getsize(path)
    weights = osp.splitext(path)[0] + '.bin'
    if path.endswith('.xml') and osp.exists(weights):
        size += osp.getsize(weights)
    return size
