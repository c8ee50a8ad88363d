"""Deployment: BatchNorm folding, export to runtimes, scoring through them.

One module per job: ``fuse`` (BN folding), ``wrappers`` (each model as a
tensor-in / tensor-out module, the outputs per task), ``nms_op`` (the NMS op
the exporter turns into ``NonMaxSuppression``), ``onnx_graph`` (ONNX export
of a wrapper or of a config's model, the graph's opset and tensor ranks),
``parity`` (an ONNX file's outputs against PyTorch under onnxruntime),
``runtimes`` (one module per runtime: onnxruntime, OpenVINO, ExecuTorch),
``xnnpack_rewrites`` (MobileViT's layers in XNNPACK's ops), ``data`` (the
test pipeline at the export size, calibration images), ``deploy`` (a
config's model to a runtime), ``postprocess`` (the host-side
post-processing of every runtime), ``evaluate`` (a config's metric through
an exported file).
"""
from .fuse import fold_conv_bn, switch_to_deploy
from .onnx_graph import (export_config, export_onnx, max_tensor_rank,
                         opset_version)
from .parity import max_abs_diff, output_diffs, run_onnxruntime
from .wrappers import (BackboneExportWrapper, ClassifierExportWrapper,
                       DetectorExportWrapper, SegmentorExportWrapper,
                       check_input_shape, output_names, wrap_model)

__all__ = [
    'fold_conv_bn', 'switch_to_deploy', 'BackboneExportWrapper',
    'ClassifierExportWrapper', 'DetectorExportWrapper',
    'SegmentorExportWrapper', 'check_input_shape', 'export_config',
    'export_onnx', 'max_abs_diff', 'max_tensor_rank', 'opset_version',
    'output_diffs', 'output_names', 'run_onnxruntime', 'wrap_model'
]
