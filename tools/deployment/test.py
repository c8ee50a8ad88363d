"""Score an exported model on a config's test split with the config's own
evaluator (CocoMetric, IoUMetric, Accuracy), as mmdeploy's ``test.py``.

    python tools/deployment/test.py CONFIG MODEL [--threads N] \\
        [--shape H W] [--out metrics.json] [--cfg-options KEY=VALUE ...]

``MODEL`` is a file of ``tools/deployment/deploy.py`` (``.onnx``, ``.xml``,
``.pte``), or a ``.pth`` checkpoint (with ``--shape``): the BN-folded
PyTorch model through the same loop, the reference of the runtimes. Images
are resized to the model's input size (segmentors: the logits are resized
back to the original image, as mmseg does).
"""
import argparse
import json
import os.path as osp
from typing import List, Optional

from mmvit.utils.cli import add_cfg_options, run_cli, save_json


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('model', help='exported file or .pth checkpoint')
    parser.add_argument('--threads', type=int, help='runtime threads')
    parser.add_argument(
        '--shape', type=int, nargs=2, metavar=('H', 'W'),
        help='.pth checkpoint: the input size to run at (an exported file '
        'has its own)')
    parser.add_argument('--out', help='write the metrics to this JSON')
    add_cfg_options(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    from mmvit.deployment.evaluate import evaluate
    args = parse_args(argv)
    if not osp.exists(args.model):
        raise FileNotFoundError(f'model file not found: {args.model}')
    result = evaluate(args.config, args.model, args.cfg_options,
                      args.threads, args.shape)
    print(json.dumps(result))
    save_json(result, args.out)
    return result


if __name__ == '__main__':
    run_cli(main)
