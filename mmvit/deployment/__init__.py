"""Deployment utilities: BatchNorm folding for inference, ONNX export."""
from .fuse import fold_conv_bn, switch_to_deploy
from .onnx_export import (BackboneExportWrapper, ClassifierExportWrapper,
                          DetectorExportWrapper, SegmentorExportWrapper,
                          export_config, export_onnx, max_abs_diff,
                          max_tensor_rank, output_diffs, wrap_model)

__all__ = [
    'fold_conv_bn', 'switch_to_deploy', 'BackboneExportWrapper',
    'ClassifierExportWrapper', 'DetectorExportWrapper',
    'SegmentorExportWrapper', 'export_config', 'export_onnx', 'max_abs_diff',
    'max_tensor_rank', 'output_diffs', 'wrap_model'
]
