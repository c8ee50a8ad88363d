"""Write COCO instance annotations as PASCAL VOC class masks (the extra
training data of ml-cvnets' DeepLabv3-MobileViT recipe, ``use_coco_data``).

For every image with at least one of the 20 VOC classes, it writes a
palette PNG in VOC's format (mode ``P``, VOC's colour map, VOC class
indices, 0 background, 255 on instance borders) and lists the image in a
split file, in mmseg's VOC layout::

    OUT/JPEGImages/<name>.jpg              (symlinks to the COCO images)
    OUT/SegmentationClassCOCO/<name>.png
    OUT/ImageSets/Segmentation/train_coco.txt

configs/_base_/datasets/pascal_voc12_aug_coco.py reads it from
``data/coco_voc``::

    python tools/dataset_converters/coco2voc_seg.py \\
        data/coco/annotations/instances_train2017.json \\
        data/coco/train2017 data/coco_voc --nproc 8

How each mask is drawn (ml-cvnets' ``COCODataset._gen_seg_mask``, v0.2,
which maps COCO to VOC on the fly):

- COCO categories map to VOC classes by cvnets' table (:data:`COCO_TO_VOC`);
  the other 60 COCO categories are left as background (0), as in cvnets;
- instances are painted in annotation order and a pixel keeps the first
  class painted on it; crowd annotations are painted too (as cvnets);
- cvnets draws no borders; VOC's masks have a void (255) band about 5 px
  wide along every object's outline, so this tool draws one too: pixels
  within ``ceil(w / 2)`` px inside and ``floor(w / 2)`` px outside each VOC
  instance's outline (``--border-width w``, default 5; 0 for cvnets' masks
  without borders). The image frame is not an outline.

An image is kept when its mask has at least ``--min-pixels`` (default 1)
VOC-class pixels after the borders are drawn.
"""
import argparse
import json
import multiprocessing
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

#: COCO category id -> VOC class index (cvnets' ``coco_to_pascal_mapping``;
#: COCO names in the comments).
COCO_TO_VOC = {
    5: 1,  # airplane
    2: 2,  # bicycle
    16: 3,  # bird
    9: 4,  # boat
    44: 5,  # bottle
    6: 6,  # bus
    3: 7,  # car
    17: 8,  # cat
    62: 9,  # chair
    21: 10,  # cow
    67: 11,  # dining table
    18: 12,  # dog
    19: 13,  # horse
    4: 14,  # motorcycle
    1: 15,  # person
    64: 16,  # potted plant
    20: 17,  # sheep
    63: 18,  # couch
    7: 19,  # train
    72: 20,  # tv
}
IGNORE_INDEX = 255
MASK_DIR = 'SegmentationClassCOCO'
IMAGE_DIR = 'JPEGImages'
SPLIT_DIR = osp.join('ImageSets', 'Segmentation')


def voc_palette() -> List[int]:
    """VOC's colour map as a flat [r, g, b] * 256 list (class ``i``'s bits
    spread over the high bits of r, g, b in turn)."""
    palette = []
    for index in range(256):
        rgb = [0, 0, 0]
        value = index
        for bit in range(7, -1, -1):
            for channel in range(3):
                rgb[channel] |= ((value >> channel) & 1) << bit
            value >>= 3
        palette.extend(rgb)
    return palette


def instance_mask(segmentation, height: int, width: int) -> np.ndarray:
    """A COCO ``segmentation`` (polygons, uncompressed or compressed RLE)
    as a [height, width] uint8 0/1 mask."""
    if isinstance(segmentation, list):  # polygons
        rles = mask_utils.frPyObjects(segmentation, height, width)
        rle = mask_utils.merge(rles)
    elif isinstance(segmentation.get('counts'), list):  # uncompressed RLE
        rle = mask_utils.frPyObjects(segmentation, height, width)
    else:  # compressed RLE
        rle = dict(segmentation)
        if isinstance(rle['counts'], str):
            rle['counts'] = rle['counts'].encode('ascii')
    return mask_utils.decode(rle).astype(np.uint8)


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                     (2 * radius + 1, 2 * radius + 1))


def outline_band(mask: np.ndarray, width: int) -> np.ndarray:
    """Boolean band of ``width`` px along the outline of a 0/1 mask:
    ``ceil(width / 2)`` px inside and ``floor(width / 2)`` px outside. The
    image frame counts as inside (no band along it)."""
    inner, outer = (width + 1) // 2, width // 2
    band = np.zeros(mask.shape, dtype=bool)
    if inner:
        # erode pads with the maximum: an object touching the frame keeps it
        band |= (mask > 0) & (cv2.erode(mask, _disk(inner)) == 0)
    if outer:
        band |= (mask == 0) & (cv2.dilate(mask, _disk(outer)) > 0)
    return band


def voc_mask(annotations: Sequence[dict], height: int, width: int,
             border_width: int) -> np.ndarray:
    """The VOC class mask of one image's COCO annotations (see the module
    docstring for the rules)."""
    labels = np.zeros((height, width), dtype=np.uint8)
    border = np.zeros((height, width), dtype=bool)
    for ann in annotations:
        voc_class = COCO_TO_VOC.get(ann['category_id'])
        if voc_class is None or not ann.get('segmentation'):
            continue
        instance = instance_mask(ann['segmentation'], height, width)
        labels[(labels == 0) & (instance > 0)] = voc_class
        if border_width:
            border |= outline_band(instance, border_width)
    labels[border] = IGNORE_INDEX
    return labels


def _convert_one(job: Tuple[dict, List[dict], str, int, int]) -> Optional[str]:
    """Write one image's mask; return its name, or None when skipped."""
    image, annotations, out_dir, border_width, min_pixels = job
    labels = voc_mask(annotations, image['height'], image['width'],
                      border_width)
    if np.count_nonzero((labels > 0) & (labels != IGNORE_INDEX)) < min_pixels:
        return None
    name = osp.splitext(osp.basename(image['file_name']))[0]
    png = Image.fromarray(labels, mode='P')
    png.putpalette(voc_palette())
    png.save(osp.join(out_dir, MASK_DIR, name + '.png'))
    return name


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write VOC-style class masks (palette PNGs, 255 borders) '
        'and a split file for the COCO images that show VOC classes.')
    parser.add_argument(
        'ann_file',
        help='COCO instances json, e.g. '
        'data/coco/annotations/instances_train2017.json')
    parser.add_argument('img_dir', help='its images, e.g. data/coco/train2017')
    parser.add_argument(
        'out_dir', help='output root (mmseg VOC layout), e.g. data/coco_voc')
    parser.add_argument(
        '--split',
        default='train_coco',
        help='name of the split file written to '
        'OUT/ImageSets/Segmentation/ (default: train_coco)')
    parser.add_argument(
        '--border-width',
        type=int,
        default=5,
        help='width in px of the 255 band along instance outlines (VOC: '
        'about 5; 0: none, as cvnets\' on-the-fly COCO masks)')
    parser.add_argument(
        '--min-pixels',
        type=int,
        default=1,
        help='keep an image when its mask has at least this many VOC-class '
        'pixels (default 1)')
    parser.add_argument(
        '--no-link-images',
        action='store_true',
        help='do not symlink the images into OUT/JPEGImages (then point the '
        "dataset's img_path at IMG_DIR)")
    parser.add_argument(
        '--nproc', type=int, default=1, help='worker processes (default 1)')
    args = parser.parse_args(argv)
    for name in ('border_width', 'min_pixels'):
        if getattr(args, name) < 0:
            parser.error(f'--{name.replace("_", "-")} must be >= 0')
    if args.nproc < 1:
        parser.error('--nproc must be at least 1')
    return args


def _load_annotations(ann_file: str) -> Tuple[List[dict], Dict[int, list]]:
    """Images and their annotations (file order) from a COCO json."""
    if not osp.isfile(ann_file):
        raise FileNotFoundError(
            f'COCO annotation file not found: {ann_file} (give the instances '
            'json, e.g. data/coco/annotations/instances_train2017.json)')
    with open(ann_file, encoding='utf-8') as f:
        try:
            coco = json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(
                f'{ann_file} is not a valid json file: {err}') from err
    if not isinstance(coco, dict) or not {'images', 'annotations'
                                          } <= set(coco):
        raise ValueError(f'{ann_file} is not a COCO instances file: it needs '
                         '"images" and "annotations" lists')
    per_image: Dict[int, list] = {}
    for ann in coco['annotations']:
        per_image.setdefault(ann['image_id'], []).append(ann)
    return coco['images'], per_image


def main(argv=None) -> int:
    """Convert; return the number of images written."""
    args = parse_args(argv)
    start = time.time()
    images, per_image = _load_annotations(args.ann_file)
    if not osp.isdir(args.img_dir):
        raise FileNotFoundError(
            f'COCO image folder not found: {args.img_dir} (give the folder '
            f'of the images of {args.ann_file}, e.g. data/coco/train2017)')
    # images with a VOC-class annotation: the candidates
    candidates = [
        image for image in images
        if any(ann['category_id'] in COCO_TO_VOC
               for ann in per_image.get(image['id'], []))
    ]
    missing = [
        image['file_name'] for image in candidates
        if not osp.isfile(osp.join(args.img_dir, image['file_name']))
    ]
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} of the {len(candidates)} images with VOC '
            f'classes are not in {args.img_dir}, e.g. {missing[:3]}')
    names = [
        osp.splitext(osp.basename(image['file_name']))[0]
        for image in candidates
    ]
    if len(set(names)) != len(names):
        raise ValueError(f'{args.ann_file}: image file names are not unique '
                         'once their folders are dropped')

    os.makedirs(osp.join(args.out_dir, MASK_DIR), exist_ok=True)
    os.makedirs(osp.join(args.out_dir, SPLIT_DIR), exist_ok=True)
    jobs = [(image, per_image[image['id']], args.out_dir, args.border_width,
             args.min_pixels) for image in candidates]
    if args.nproc > 1:
        with multiprocessing.Pool(args.nproc) as pool:
            written = pool.map(_convert_one, jobs, chunksize=64)
    else:
        written = [_convert_one(job) for job in jobs]

    kept = [(image, name) for image, name in zip(candidates, written)
            if name is not None]
    if not args.no_link_images:
        os.makedirs(osp.join(args.out_dir, IMAGE_DIR), exist_ok=True)
        for image, _ in kept:
            source = osp.abspath(osp.join(args.img_dir, image['file_name']))
            link = osp.join(args.out_dir, IMAGE_DIR,
                            osp.basename(image['file_name']))
            if osp.lexists(link):
                os.remove(link)
            os.symlink(source, link)
    split_file = osp.join(args.out_dir, SPLIT_DIR, args.split + '.txt')
    with open(split_file, 'w', encoding='utf-8') as f:
        f.writelines(name + '\n' for _, name in kept)
    print(f'wrote {len(kept)} masks of {len(images)} images '
          f'({len(candidates) - len(kept)} with VOC annotations but under '
          f'{args.min_pixels} labelled pixels) to '
          f'{osp.join(args.out_dir, MASK_DIR)} and {split_file} in '
          f'{time.time() - start:.1f} s')
    return len(kept)


if __name__ == '__main__':
    from mmvit.utils.cli import run_cli
    run_cli(main)
