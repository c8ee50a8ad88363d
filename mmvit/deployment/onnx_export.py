# re-export for one release (issue 15)
"""The former single module of mmvit's ONNX export, kept as re-exports.

Each job now has its own module in :mod:`mmvit.deployment`: ``wrappers``
(the export wrappers and the outputs per task), ``nms_op`` (the NMS op),
``export`` (the export, from a wrapper or a config), ``checks`` (graph and
onnxruntime checks), ``fuse`` (BatchNorm folding); the task vocabulary and
the model of a config are in :mod:`mmvit.apis`. Import from those.
"""
from mmvit.apis import TASKS, build_model, load_weights
from mmvit.apis import model_task as infer_task
from .checks import (max_abs_diff, max_tensor_rank, opset_version,
                     output_diffs, run_onnxruntime, tensor_ranks)
from .export import DEFAULT_OPSET, MIN_OPSET, export_config, export_onnx
from .fuse import switch_to_deploy
from .nms_op import nms_mask
from .wrappers import (MIN_SIZE, SIZE_DIVISOR, BackboneExportWrapper,
                       ClassifierExportWrapper, DetectorExportWrapper,
                       Preprocess, SegmentorExportWrapper, check_float32,
                       check_input_shape, model_device, output_names,
                       wrap_model)

__all__ = [
    'TASKS', 'build_model', 'load_weights', 'infer_task', 'max_abs_diff',
    'max_tensor_rank', 'opset_version', 'output_diffs', 'run_onnxruntime',
    'tensor_ranks', 'DEFAULT_OPSET', 'MIN_OPSET', 'export_config',
    'export_onnx', 'switch_to_deploy', 'nms_mask', 'MIN_SIZE', 'SIZE_DIVISOR',
    'BackboneExportWrapper', 'ClassifierExportWrapper',
    'DetectorExportWrapper', 'Preprocess', 'SegmentorExportWrapper',
    'check_float32', 'check_input_shape', 'model_device', 'output_names',
    'wrap_model'
]
