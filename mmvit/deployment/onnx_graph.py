"""ONNX export of an mmvit export wrapper, and of the model of a config end
to end.

:func:`export_onnx` runs the ``torch.export``-based exporter (the default
since torch 2.9; the TorchScript one is deprecated) with a dynamic batch
axis: tracing proves the batch axis symbolic, so the export fails instead of
silently baking in the traced batch size, and the NMS op of
:mod:`mmvit.deployment.nms_op` becomes ONNX ``NonMaxSuppression`` through
the exporter's translation table. The exporter translates at opset
:data:`DEFAULT_OPSET`; a lower opset (down to :data:`MIN_OPSET`) goes
through ONNX's version converter on the optimised graph. The weights are
stored inside the ``.onnx`` file.

:func:`export_config` is what ``tools/deployment/export_onnx.py`` runs:
build the model of a config (:func:`mmvit.apis.build_model`), wrap it
(:mod:`mmvit.deployment.wrappers`), fold the BatchNorms of a copy
(:mod:`mmvit.deployment.fuse`), export it and check the graph: its opset
and its tensor ranks (:func:`max_tensor_rank` holds it to rank 5, CoreML's
limit). Its outputs against PyTorch: :mod:`mmvit.deployment.parity`.
"""
import copy
import warnings
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from mmvit.apis import build_model, model_task
from .fuse import switch_to_deploy
from .nms_op import ONNX_TRANSLATIONS
from .wrappers import (check_float32, check_input_shape, model_device,
                       output_names, wrap_model)

DEFAULT_OPSET = 18
MIN_OPSET = 17


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


def export_onnx(wrapper: nn.Module,
                path: str,
                input_shape: Tuple[int, int],
                opset: int = DEFAULT_OPSET) -> str:
    """Export ``wrapper`` to ``path`` (weights inside the file) for inputs
    ``[B, 3, H, W]`` with a dynamic batch axis ``B``."""
    if opset < MIN_OPSET:
        raise ValueError(f'opset must be >= {MIN_OPSET}, got {opset}')
    check_float32(wrapper)
    height, width = input_shape
    batch_axis = {0: torch.export.Dim('batch')}
    # Two images while tracing, so that no size-1 batch gets specialised.
    example = torch.rand(
        2, 3, height, width, device=model_device(wrapper)) * 255
    with torch.no_grad():
        outputs = wrapper(example)
    outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs, )
    # torch.export-based (dynamo): the batch axis is proven symbolic, and
    # mmvit::nms_mask maps to NonMaxSuppression (see the module docstring)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        program = torch.onnx.export(
            wrapper, (example, ),
            input_names=['input'],
            output_names=output_names(wrapper, len(outputs)),
            opset_version=max(opset, DEFAULT_OPSET),
            dynamic_shapes=(dict(batch_axis), ),
            custom_translation_table=ONNX_TRANSLATIONS,
            dynamo=True,
            verbose=False)
    if opset < DEFAULT_OPSET:
        import onnx
        onnx.save(_convert_opset(program.model_proto, opset), path)
    else:
        program.save(path, external_data=False)
    return path


def _convert_opset(model, opset: int):
    """``model`` converted down to ``opset`` with ONNX's converter. (The
    exporter translates at opset 18; its own down-conversion silently keeps
    18 when it fails, e.g. on a ``ReduceMean`` whose axes are not folded
    yet, so it runs here on the optimised graph instead.)"""
    import onnx
    converted = onnx.version_converter.convert_version(model, opset)
    for node in converted.graph.node:
        # the converter moves Reduce* axes back to an attribute but keeps
        # `noop_with_empty_axes`, which opsets < 18 do not know (0 = their
        # behaviour)
        if node.op_type.startswith('Reduce'):
            attrs = [
                a for a in node.attribute if a.name == 'noop_with_empty_axes'
            ]
            for attr in attrs:
                if attr.i != 0:
                    raise ValueError(f'cannot convert {node.name} to opset '
                                     f'{opset}')
                node.attribute.remove(attr)
    onnx.checker.check_model(converted)
    if opset_version(converted) != opset:
        raise ValueError(f'could not convert the graph to opset {opset}')
    return converted


def export_config(
    config,
    out: str,
    input_shape: Sequence[int],
    checkpoint: Optional[str] = None,
    task: str = 'auto',
    with_nms: bool = False,
    opset: int = DEFAULT_OPSET,
    fuse: bool = True
) -> Tuple[nn.Module, nn.Module, Dict[str, Union[int, str, bool]]]:
    """Build, wrap, (BN-fold a copy,) and export the model of ``config``.

    Args:
        config (str | Config): A config file or a loaded config.
        out (str): The ``.onnx`` file to write.
        input_shape (Sequence[int]): Export ``(H, W)``, multiples of 32 and
            at least 64.
        checkpoint (str, optional): Weights to load (strictly); None for
            the weights as built. Defaults to None.
        task (str): One of :data:`mmvit.apis.TASKS`, or ``'auto'`` for the
            task of the config's model. Defaults to ``'auto'``.
        with_nms (bool): Detectors: append score filtering and NMS as in
            ``test_cfg``. Defaults to False.
        opset (int): ONNX opset, at least :data:`MIN_OPSET`. Defaults to
            :data:`DEFAULT_OPSET`.
        fuse (bool): Export a BN-folded copy. Defaults to True.

    Returns:
        tuple: The unfolded PyTorch wrapper (the reference of parity
        checks), the wrapper that was exported (BN-folded when ``fuse``) and
        a summary (``task``, ``opset``, ``max_rank``, ``fused``).
    """
    height, width = (int(s) for s in input_shape)
    check_input_shape(height, width)
    model = build_model(config, checkpoint)
    if task == 'auto':
        task = model_task(model)
    wrapper = wrap_model(model, task, (height, width), with_nms=with_nms)
    exported = switch_to_deploy(copy.deepcopy(wrapper)) if fuse else wrapper
    export_onnx(exported, out, (height, width), opset=opset)
    summary = dict(
        task=task,
        opset=opset_version(out),
        max_rank=max_tensor_rank(out),
        fused=fuse)
    return wrapper, exported, summary
