"""Export an mmvit model (backbone, classifier, SSDLite, DeepLabv3) to ONNX.

    python tools/deployment/export_onnx.py CONFIG [CHECKPOINT] \\
        --out model.onnx --shape H W [--task auto] [--with-nms] \\
        [--opset 18] [--no-fuse] [--verify] [--image IMG]

The graph takes ``[B, 3, H, W]`` float pixels as the config's pipeline loads
them (BGR, 0-255) with a dynamic batch ``B``; normalisation is inside. See
``mmvit/deployment/wrappers.py`` for the outputs of each task.
"""
import argparse
import os
import os.path as osp
from typing import List, Optional

import torch

from mmvit.deployment import (check_input_shape, export_config, output_diffs,
                              output_names)
from mmvit.deployment.onnx_graph import DEFAULT_OPSET, MIN_OPSET
from mmvit.utils.cli import add_export_arguments, run_cli


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_export_arguments(parser, 'output .onnx file')
    parser.add_argument(
        '--with-nms',
        action='store_true',
        help='detector: append score filtering and NMS (test_cfg)')
    parser.add_argument(
        '--opset',
        type=int,
        default=DEFAULT_OPSET,
        help=f'ONNX opset, >= {MIN_OPSET} '
        f'(default {DEFAULT_OPSET}, the exporter\'s own; lower '
        'ones go through the ONNX version converter)')
    parser.add_argument(
        '--no-fuse',
        action='store_true',
        help='keep BatchNorm layers (default: fold them into the convs)')
    parser.add_argument(
        '--verify',
        action='store_true',
        help='compare onnxruntime with PyTorch at batch 1 and 2')
    parser.add_argument(
        '--image', help='image for --verify (default: random pixels)')
    args = parser.parse_args(argv)
    if args.image is not None and not args.verify:
        parser.error('--image needs --verify')
    return args


def load_image(path: str, height: int, width: int) -> torch.Tensor:
    """``[1, 3, H, W]`` float BGR pixels, resized as the test pipelines do
    (``keep_ratio=False``)."""
    import mmcv
    if not osp.isfile(path):
        raise FileNotFoundError(f'image not found: {path}')
    img = mmcv.imresize(
        mmcv.imread(path, channel_order='bgr'), (width, height))
    return torch.from_numpy(img).permute(2, 0, 1)[None].float()


def _describe(output: str, diff: float, relative: float) -> str:
    if output == 'labels':  # integer: relative is the mismatch fraction
        return f'differ at {relative:.3g} of the elements'
    return f'max abs diff {diff:.3g} (relative {relative:.3g})'


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    if args.checkpoint is not None and not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    height, width = args.shape
    check_input_shape(height, width)
    if args.checkpoint is None:
        print('no checkpoint given: exporting random weights')
    out_dir = osp.dirname(osp.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)

    reference, exported, summary = export_config(
        args.config,
        args.out,
        input_shape=(height, width),
        checkpoint=args.checkpoint,
        task=args.task,
        with_nms=args.with_nms,
        opset=args.opset,
        fuse=not args.no_fuse)
    print(f'exported {summary["task"]} to {args.out}: opset '
          f'{summary["opset"]}, max tensor rank {summary["max_rank"]}, '
          f'input [B, 3, {height}, {width}] with dynamic B')

    if args.verify:
        if args.image is not None:
            image = load_image(args.image, height, width)
        else:
            image = torch.rand(1, 3, height, width) * 255
        batch2 = torch.cat([image, torch.rand_like(image) * 255])
        # NMS is discontinuous: a near tie of two scores may order
        # differently after BN folding (~1e-7), so the NMS graph is checked
        # against its own PyTorch model and the raw outputs against the
        # unfolded one.
        if args.with_nms:
            reference = exported
            print('comparing with the exported (BN-folded) PyTorch model')
        diffs, rel_diffs = {}, {}
        for name, inputs in (('batch 1', image), ('batch 2', batch2)):
            pairs = output_diffs(reference, args.out, inputs)
            names = output_names(reference, len(pairs))
            diffs[name] = [diff for diff, _ in pairs]
            rel_diffs[name] = [rel for _, rel in pairs]
            print(f'onnxruntime vs PyTorch, {name}: ' + ', '.join(
                f'{out} {_describe(out, d, r)}'
                for out, (d, r) in zip(names, pairs)))
        summary['outputs'] = names
        summary['max_abs_diff'] = diffs
        summary['max_rel_diff'] = rel_diffs
    return summary


if __name__ == '__main__':
    run_cli(main)
