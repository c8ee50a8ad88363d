r"""Convert a public MobileViT / MobileViTv2 checkpoint to mmvit's layout.

    python tools/model_converters/mobilevit2mmvit.py SRC DST \
        [--format cvnets|timm|hf|mmpretrain] [--arch small|...|0.5|...|2.0] \
        [--config CONFIG] [--keep-rgb] [--num-anchors 6 6 6 6 6 4]

Sources: MobileViT from ml-cvnets v0.1 (ImageNet classifiers, DeepLabv3,
SSDLite), timm, HF transformers (classification, segmentation) and
mmpretrain; MobileViTv2 from ml-cvnets HEAD (classification, DeepLabv3,
SSDLite) and timm (``mobilevitv2_*``). The format, the variant and the task
are read from the keys and shapes.

The source is read with ``torch.load(weights_only=True)`` (or as
safetensors): no pickled code runs. Before it is written, the result is
loaded strictly into the mmvit model it is meant for: the classifier,
segmentor or detector of ``--config`` (by default mmvit's config of that
task and variant) or, for a bare backbone, ``mmvit.MobileViT`` /
``mmvit.MobileViTv2``. A mismatch
stops with the expected variant and the missing / unexpected keys.
"""
import argparse
import functools
import inspect
import os
import os.path as osp
from typing import Optional

import torch

from mmvit.apis import build_model, load_config  # (+ the runtime fixes)
from mmvit.converters import (FORMAT_NAMES, FORMATS, FormatMismatchError,
                              convert_state_dict, converter,
                              detect_format_and_arch, load_state_dict)
from mmvit.converters.detect import family
from mmvit.models.backbones.families import arch_keys, family_of_arch
from mmvit.utils.cli import run_cli, user_errors

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def default_config(task: str, arch: str) -> Optional[str]:
    """mmvit's config of ``task`` for ``arch`` (None for a bare backbone);
    raises ``ValueError`` for an arch without such a config."""
    names = family_of_arch(arch).configs
    if task not in names:
        return None
    path = osp.join(REPO_ROOT, 'configs', names[task](arch))
    if not osp.isfile(path):
        raise ValueError(f'mmvit ships no {task} config for {family(arch)} '
                         f'{arch!r} (no {osp.relpath(path)}): give the model '
                         'to load the weights into with --config')
    return path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n', 1)[1])
    parser.add_argument(
        'src',
        help='source checkpoint (.pt/.pth/.bin/.safetensors) or an HF / '
        'timm model folder')
    parser.add_argument('dst', help='where to write the mmvit checkpoint')
    parser.add_argument(
        '--format',
        choices=FORMATS,
        help='source layout; detected from the keys when omitted')
    parser.add_argument(
        '--arch',
        choices=arch_keys(),
        help='expected variant; stop if the checkpoint is another')
    parser.add_argument(
        '--config',
        help='config of the model the result must load into (defaults to '
        "mmvit's config of the detected task and variant)")
    parser.add_argument(
        '--keep-rgb',
        action='store_true',
        help='timm and MobileViTv2 only: keep the stem in RGB order (by '
        "default it is flipped to the BGR input of mmvit's configs)")
    parser.add_argument(
        '--num-anchors',
        type=int,
        nargs='+',
        help='cvnets SSDLite only: anchors per location of each level '
        '(defaults to 6 6 6 6 6 4)')
    return parser.parse_args(argv)


@functools.lru_cache(maxsize=None)
def _read_config(path: str):
    # parsing a config that inherits `mmseg::` / `mmdet::` bases reads the
    # toolbox's metafiles: seconds, so once per file is enough (build_model
    # does not modify it)
    return load_config(path)


def _build(config: str) -> torch.nn.Module:
    """The model of an mmvit config in its toolbox's scope (weights are not
    initialised: nothing is read from disk)."""
    return build_model(_read_config(osp.abspath(config)))


def config_arch(config: str) -> Optional[str]:
    model = _read_config(osp.abspath(config)).model
    arch = model.get('backbone', {}).get('arch')
    return arch if isinstance(arch, str) else None


def check_loads(state_dict: dict,
                arch: str,
                task: str = 'backbone',
                config: Optional[str] = None,
                expected_arch: Optional[str] = None) -> None:
    """Load ``state_dict`` strictly into its mmvit model; raise a
    ``ValueError`` naming the expected variant and the missing /
    unexpected / misshapen keys."""
    if task == 'backbone':  # bare keys: compare as `backbone.*`
        if config is None:
            expected_arch = expected_arch or arch
            backbone = family_of_arch(expected_arch)
            model = backbone.cls(expected_arch)
            # the outputs after the stages (MobileViT's expansion layer)
            # are built only when asked for
            if set(state_dict) - set(model.state_dict()):
                model = backbone.cls(
                    expected_arch, out_indices=backbone.feature_out_indices)
            target = f'mmvit {family(expected_arch)} {expected_arch!r}'
        else:
            expected_arch = expected_arch or config_arch(config) or arch
            model = _build(config).backbone
            target = (f'mmvit {family(expected_arch)} {expected_arch!r} '
                      f'(backbone of {osp.relpath(config)})')
        expected = {f'backbone.{k}': v for k, v in model.state_dict().items()}
        given = {f'backbone.{k}': v for k, v in state_dict.items()}
    else:
        config = config or default_config(task, expected_arch or arch)
        expected_arch = expected_arch or config_arch(config) or arch
        model = _build(config)
        expected, given = model.state_dict(), state_dict
        target = (f'mmvit {family(expected_arch)} {expected_arch!r} '
                  f'({osp.relpath(config)})')
    missing = sorted(set(expected) - set(given))
    unexpected = sorted(set(given) - set(expected))
    misshapen = [
        f'{k}: {tuple(given[k].shape)} vs {tuple(expected[k].shape)}'
        for k in expected if k in given and given[k].shape != expected[k].shape
    ]
    if missing or unexpected or misshapen or expected_arch not in (None, arch):
        variant = ('' if expected_arch in (None, arch) else
                   f' (the checkpoint is {family(arch)} {arch!r})')
        raise ValueError(
            f'the converted checkpoint does not match {target}{variant}: '
            f'missing keys {missing[:10]} ({len(missing)} in all), '
            f'unexpected keys {unexpected[:10]} ({len(unexpected)} in all), '
            f'shape mismatches {misshapen[:5]} ({len(misshapen)} in all)')
    model.load_state_dict(state_dict, strict=True)


def convert(src: str,
            dst: str,
            fmt: Optional[str] = None,
            arch: Optional[str] = None,
            config: Optional[str] = None,
            keep_rgb: bool = False,
            num_anchors=None) -> str:
    """Convert ``src`` to ``dst``; return the variant."""
    state_dict = load_state_dict(src)
    found_fmt, found_arch = detect_format_and_arch(state_dict)
    options = {}
    # the options the checkpoint's converter takes (none for a checkpoint
    # already in mmvit's layout)
    takes = {} if found_fmt == 'mmvit' else inspect.signature(
        converter(found_arch, found_fmt)).parameters
    if keep_rgb:  # the checkpoints trained on RGB images
        if 'rgb_to_bgr' not in takes:
            raise ValueError('--keep-rgb applies to timm and MobileViTv2 '
                             'checkpoints only (trained on RGB images), this '
                             f'one is {found_fmt} {family(found_arch)}')
        options['rgb_to_bgr'] = False
    if num_anchors:
        if 'num_anchors' not in takes:
            raise ValueError('--num-anchors applies to cvnets SSDLite '
                             'checkpoints only, this one is '
                             f'{found_fmt} {family(found_arch)}')
        options['num_anchors'] = tuple(num_anchors)
    try:
        converted, info = convert_state_dict(state_dict, fmt, **options)
    except FormatMismatchError as err:  # name the command-line option
        raise ValueError(
            f'expected {FORMAT_NAMES[err.expected]} checkpoint (--format '
            f'{err.expected}), but its keys are in the {err.found} '
            'layout') from None
    expected_arch = arch
    if expected_arch is None and config is not None:
        expected_arch = config_arch(config)
    check_loads(converted, info['arch'], info['task'], config, expected_arch)
    if osp.dirname(osp.abspath(dst)):
        os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    torch.save(
        dict(
            state_dict=converted,
            meta=dict(
                source=osp.basename(src),
                input='BGR in [0, 1], no mean/std',
                **info)), dst)
    return info['arch']


def main(argv=None):
    args = parse_args(argv)
    with user_errors():  # in-process too: the message, SystemExit(2)
        arch = convert(args.src, args.dst, args.format, args.arch, args.config,
                       args.keep_rgb, args.num_anchors)
    print(f'converted MobileViT {arch!r} -> {args.dst}')


if __name__ == '__main__':
    run_cli(main)
