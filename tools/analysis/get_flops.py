"""Parameters and FLOPs of the model of any mmvit / OpenMMLab config.

    python tools/analysis/get_flops.py CONFIG [--shape H W]

FLOPs count multiply-adds of the tensor-mode forward (backbone, neck and
head, without pre- or post-processing), attention included.
"""
import argparse

import torch

from mmvit.apis import build_model  # (applies the runtime fixes too)
from mmvit.utils.cli import run_cli
from mmvit.utils.flops import NetworkForward, count_flops


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Params and FLOPs')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        default=[256, 256],
        metavar=('H', 'W'),
        help='input size. Defaults to 256 256')
    return parser.parse_args(argv)


def get_flops(config: str, shape=(256, 256)):
    """Return ``(params, flops)`` of the config's model at ``shape``."""
    model = build_model(config)
    params = sum(p.numel() for p in model.parameters())
    flops = count_flops(NetworkForward(model), (torch.rand(1, 3, *shape), ))
    return params, flops


def main(argv=None):
    args = parse_args(argv)
    params, flops = get_flops(args.config, tuple(args.shape))
    h, w = args.shape
    print(f'{args.config}\ninput: 3x{h}x{w}\nparams: {params / 1e6:.3f} M\n'
          f'FLOPs: {flops / 1e9:.3f} G')


if __name__ == '__main__':
    run_cli(main)
