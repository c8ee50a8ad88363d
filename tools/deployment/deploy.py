"""Export an mmvit model to a runtime: ONNX (onnxruntime), OpenVINO IR,
ExecuTorch ``.pte`` (XNNPACK); fp32, bf16 (OpenVINO, CPUs with bf16) or
INT8 (post-training, calibrated on training images).

    python tools/deployment/deploy.py CONFIG [CHECKPOINT] --runtime R \\
        --out FILE --shape H W [--precision fp32|bf16|int8] [--calib N] \\
        [--task auto] [--with-nms] [--cfg-options KEY=VALUE ...]

The graph takes ``[1, 3, H, W]`` float pixels as the config's test pipeline
loads them (BGR, 0-255); normalisation is inside. Detectors end at decoded
boxes and scores (NMS runs on the host: ``tools/deployment/test.py``).
Score the file with ``tools/deployment/test.py CONFIG FILE``.
"""
import argparse
import json
from typing import List, Optional

from mmvit.deployment.runtimes import PRECISIONS, RUNTIMES
from mmvit.utils.cli import add_cfg_options, add_export_arguments, run_cli


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_export_arguments(parser, 'file to write (.onnx, .xml, .pte)')
    parser.add_argument(
        '--runtime', required=True, choices=RUNTIMES, help='target runtime')
    parser.add_argument(
        '--precision', default='fp32', choices=PRECISIONS,
        help='fp32 (default), bf16 (OpenVINO) or int8')
    parser.add_argument(
        '--calib',
        type=int,
        default=64,
        help='int8: calibration images from the training split (64)')
    parser.add_argument(
        '--with-nms',
        action='store_true',
        help='detector: NMS inside the graph (onnxruntime, openvino)')
    add_cfg_options(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    from mmvit.deployment.deploy import deploy_config
    args = parse_args(argv)
    if args.checkpoint is None:
        print('no checkpoint given: exporting random weights')
    report = deploy_config(
        args.config,
        args.out,
        args.runtime,
        args.shape,
        precision=args.precision,
        checkpoint=args.checkpoint,
        task=args.task,
        with_nms=args.with_nms,
        calib=args.calib,
        cfg_options=args.cfg_options)
    print(json.dumps(report))
    outside = report.get('outside_delegate')
    if outside:
        print('ops outside the XNNPACK delegate (portable kernels): ' +
              ', '.join(outside))
    return report


if __name__ == '__main__':
    run_cli(main)
