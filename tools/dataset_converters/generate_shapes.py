"""Write the generated shapes data: the detection / segmentation set (COCO
boxes + class-index masks) or, with ``--classification``, the set the demo
pretrains on (mmpretrain's annotation-file layout).

Examples::

    python tools/dataset_converters/generate_shapes.py data/shapes \
        --num-train 2400 --num-val 200
    python tools/dataset_converters/generate_shapes.py data/shapes_cls \
        --classification --num-train 4800 --num-val 400
"""
import argparse
import time

from mmvit.datasets.shapes import (CLS_CLASSES, SHAPE_CLASSES,
                                   ensure_shapes_classification,
                                   ensure_shapes_dataset,
                                   generate_shapes_classification,
                                   generate_shapes_dataset)
from mmvit.utils.cli import run_cli


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate the mmvit shapes data (detection / '
        f'segmentation classes: {", ".join(SHAPE_CLASSES)}; classification '
        f'classes: {", ".join(CLS_CLASSES)}).')
    parser.add_argument(
        'root', nargs='?', default='data/shapes', help='output directory')
    parser.add_argument(
        '--classification',
        action='store_true',
        help='write the classification set instead')
    parser.add_argument(
        '--num-train',
        type=int,
        default=None,
        help='training images (default 2400; 4800 with --classification)')
    parser.add_argument(
        '--num-val',
        type=int,
        default=None,
        help='val images (default 200; 400 with --classification)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--if-missing',
        action='store_true',
        help='keep the data already at ROOT (as the datasets do on first '
        'use) instead of overwriting it')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    defaults = (4800, 400) if args.classification else (2400, 200)
    num_train = defaults[0] if args.num_train is None else args.num_train
    num_val = defaults[1] if args.num_val is None else args.num_val
    if args.classification:
        generate, ensure = (generate_shapes_classification,
                            ensure_shapes_classification)
    else:
        generate, ensure = generate_shapes_dataset, ensure_shapes_dataset
    start = time.time()
    if args.if_missing:
        if not ensure(args.root, num_train, num_val, args.seed):
            print(f'{args.root} already has the data: kept')
            return
    else:
        generate(args.root, num_train, num_val, args.seed)
    print(f'wrote {num_train} train + {num_val} val images to {args.root} '
          f'in {time.time() - start:.1f} s')


if __name__ == '__main__':
    run_cli(main)
