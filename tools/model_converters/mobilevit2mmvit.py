"""Convert a public MobileViT checkpoint to mmvit's layout.

    python tools/model_converters/mobilevit2mmvit.py SRC DST [--format mmpretrain]

The source is read with ``torch.load(weights_only=True)`` (no pickled code
runs); the result is checked by loading it, strictly, into the mmvit model of
the detected variant before it is written.
"""
import argparse
import os.path as osp
import sys

import torch

import mmvit  # noqa: F401  (applies the runtime fixes)
from mmvit.models import MobileViT
from mmvit.models.utils import detect_format_and_arch, mmpretrain_to_mmvit

CONVERTERS = {'mmpretrain': mmpretrain_to_mmvit}
EXP_CHANNELS = {'small': 640, 'x_small': 384, 'xx_small': 320}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('src', help='source checkpoint')
    parser.add_argument('dst', help='where to write the mmvit checkpoint')
    parser.add_argument(
        '--format',
        choices=sorted(CONVERTERS),
        help='source layout; detected from the keys when omitted')
    return parser.parse_args(argv)


def check_loads(state_dict: dict, arch: str) -> None:
    """Load into mmvit's model of ``arch``; raise naming the mismatch."""
    backbone = MobileViT(arch, out_indices=(5, ))
    expected = {f'backbone.{k}' for k in backbone.state_dict()}
    has_head = any(k.startswith('head.') for k in state_dict)
    if has_head:
        expected |= {'head.fc.weight', 'head.fc.bias'}
    else:  # a bare backbone
        state_dict = {f'backbone.{k}': v for k, v in state_dict.items()}
    missing = sorted(expected - set(state_dict))
    unexpected = sorted(set(state_dict) - expected)
    if missing or unexpected:
        raise ValueError(
            f'the converted checkpoint does not match mmvit MobileViT '
            f'{arch!r}: missing keys {missing[:10]} ({len(missing)} in all), '
            f'unexpected keys {unexpected[:10]} ({len(unexpected)} in all)')
    backbone.load_state_dict(
        {k[len('backbone.'):]: v
         for k, v in state_dict.items() if k.startswith('backbone.')})
    if has_head and state_dict['head.fc.weight'].shape[1] != \
            EXP_CHANNELS[arch]:
        raise ValueError('head.fc.weight has shape '
                         f'{tuple(state_dict["head.fc.weight"].shape)}, '
                         f'not [*, {EXP_CHANNELS[arch]}] as {arch!r} needs')


def convert(src: str, dst: str, fmt: str = None) -> str:
    if not osp.isfile(src):
        raise FileNotFoundError(f'checkpoint not found: {src}')
    checkpoint = torch.load(src, map_location='cpu', weights_only=True)
    state_dict = checkpoint.get('state_dict', checkpoint)
    detected, arch = detect_format_and_arch(state_dict)
    if fmt is not None and fmt != detected:
        raise ValueError(f'--format {fmt} given, but {src} is in the '
                         f'{detected} layout')
    converted = CONVERTERS[detected](state_dict)
    check_loads(converted, arch)
    torch.save(
        dict(
            state_dict=converted,
            meta=dict(source=osp.basename(src), format=detected, arch=arch)),
        dst)
    return arch


def main(argv=None):
    args = parse_args(argv)
    try:
        arch = convert(args.src, args.dst, args.format)
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {err}')
    print(f'converted MobileViT {arch!r} -> {args.dst}')


if __name__ == '__main__':
    main()
