"""Parameters and FLOPs of the model of any mmvit / OpenMMLab config.

    python tools/analysis/get_flops.py CONFIG [--shape H W]

FLOPs count multiply-adds of the tensor-mode forward (backbone, neck and
head, without pre- or post-processing), attention included.
"""
import argparse

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope, init_default_scope

import mmvit  # noqa: F401  (applies the runtime fixes)
from mmvit.utils import count_flops


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
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(cfg.model)
    model.eval()
    params = sum(p.numel() for p in model.parameters())
    inputs = torch.rand(1, 3, *shape)

    class TensorMode(torch.nn.Module):

        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, x):
            return self.model(x, mode='tensor')

    with torch.no_grad():
        flops = count_flops(TensorMode(), (inputs, ))
    return params, flops


def main(argv=None):
    args = parse_args(argv)
    params, flops = get_flops(args.config, tuple(args.shape))
    h, w = args.shape
    print(f'{args.config}\ninput: 3x{h}x{w}\nparams: {params / 1e6:.3f} M\n'
          f'FLOPs: {flops / 1e9:.3f} G')


if __name__ == '__main__':
    main()
