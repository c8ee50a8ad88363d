"""Write the generated shapes dataset (COCO boxes + class-index masks).

Example::

    python tools/dataset_converters/generate_shapes.py data/shapes \
        --num-train 800 --num-val 100
"""
import argparse
import time

from mmvit.datasets.shapes import SHAPE_CLASSES, generate_shapes_dataset


def parse_args():
    parser = argparse.ArgumentParser(
        description='Generate the mmvit shapes dataset '
        f'(classes: {", ".join(SHAPE_CLASSES)}).')
    parser.add_argument(
        'root', nargs='?', default='data/shapes', help='output directory')
    parser.add_argument('--num-train', type=int, default=800)
    parser.add_argument('--num-val', type=int, default=100)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def main():
    args = parse_args()
    start = time.time()
    generate_shapes_dataset(args.root, args.num_train, args.num_val, args.seed)
    print(f'wrote {args.num_train} train + {args.num_val} val images to '
          f'{args.root} in {time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
