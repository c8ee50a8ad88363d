"""A small generated dataset of shapes for detection and segmentation.

``generate_shapes_dataset`` writes, deterministically for a given seed::

    ROOT/train/*.jpg, ROOT/val/*.jpg    mixed sizes, textured backgrounds,
                                        some images without any object
    ROOT/annotations/instances_{train,val}.json
                                        COCO format, category ids 1..3 in
                                        SHAPE_CLASSES order, some iscrowd=1
                                        groups (RLE masks)
    ROOT/masks/{train,val}/*.png        uint8 class-index masks (0 background,
                                        k = class k, 255 = thin ignore border)
    ROOT/splits/{train,val}.txt         image stems, one per line

The classification set the demo pretrains on is written by
:mod:`.cls_generator` with the same drawing. Only numpy and OpenCV are
needed; nothing here imports mmdet, mmseg or mmpretrain.
"""
import json
import os
import os.path as osp
from typing import Callable, Dict, List, Optional, Tuple

import cv2
import numpy as np

from .first_use import ensure_generated

SHAPE_CLASSES = ('rectangle', 'ellipse', 'triangle')
SPLITS = ('train', 'val')

_EMPTY_PROB = 0.08  # images with no object at all
_CROWD_PROB = 0.15  # images that also get one iscrowd=1 group
_SIZE_RANGE = (160, 416)  # image height / width in pixels
_OBJ_SCALE = (0.2, 0.6)  # object size as a fraction of the short side
_MAX_OBJECTS = 3
_IGNORE = 255


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A low-saturation textured background: blotches + stripes + noise."""
    base = rng.uniform(60, 190, size=3)
    grid = rng.integers(3, 9)
    blotch = rng.normal(0, 20, size=(grid, grid)).astype(np.float32)
    blotch = cv2.resize(blotch, (w, h), interpolation=cv2.INTER_CUBIC)
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(6, 30)
    # [H, 1] + [1, W] -> [H, W] phase of a plane wave
    ys = np.arange(h, dtype=np.float32)[:, None] * np.float32(np.sin(angle))
    xs = np.arange(w, dtype=np.float32)[None, :] * np.float32(np.cos(angle))
    stripes = np.float32(rng.uniform(4, 14)) * np.sin(
        (xs + ys) * np.float32(2 * np.pi / period))
    noise = rng.standard_normal(size=(h, w), dtype=np.float32) * 8
    tint = rng.uniform(0.85, 1.15, size=3).astype(np.float32)
    gray = blotch + stripes + noise  # [H, W]
    img = (gray[..., None] + base.astype(np.float32)) * tint
    return np.clip(img, 0, 255)


def _color(rng: np.random.Generator) -> Tuple[int, int, int]:
    """A saturated BGR colour (stands out from the greyish backgrounds)."""
    hsv = np.uint8([[[
        rng.integers(0, 180),
        rng.integers(150, 256),
        rng.integers(110, 256)
    ]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def _shape_polygon(rng: np.random.Generator, label: int, cx: float, cy: float,
                   half_w: float, half_h: float) -> np.ndarray:
    """Vertices ``[N, 2]`` (x, y) of one shape of class ``label`` (1..3)."""
    name = SHAPE_CLASSES[label - 1]
    if name == 'rectangle':
        angle = np.deg2rad(rng.uniform(-12, 12))
        corners = np.array([[-half_w, -half_h], [half_w, -half_h],
                            [half_w, half_h], [-half_w, half_h]])
        rot = np.array([[np.cos(angle), -np.sin(angle)],
                        [np.sin(angle), np.cos(angle)]])
        return corners @ rot.T + (cx, cy)
    if name == 'ellipse':
        pts = cv2.ellipse2Poly((int(round(cx)), int(round(cy))),
                               (int(round(half_w)), int(round(half_h))),
                               int(rng.uniform(0, 180)), 0, 360, 8)
        return pts.astype(np.float64)
    # triangle: apex somewhere along the top (or bottom) edge
    apex_x = cx + rng.uniform(-0.8, 0.8) * half_w
    flip = 1 if rng.random() < 0.5 else -1
    return np.array([[cx - half_w, cy + flip * half_h],
                     [cx + half_w, cy + flip * half_h],
                     [apex_x, cy - flip * half_h]])


def _rasterize(poly: np.ndarray, h: int, w: int) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
    return mask


def _bbox_of(mask: np.ndarray) -> Optional[List[float]]:
    """COCO ``[x, y, w, h]`` of the nonzero pixels of a uint8 mask."""
    x, y, w, h = cv2.boundingRect(mask)
    if w == 0 or h == 0:
        return None
    return [float(x), float(y), float(w), float(h)]


def _iou(a: List[float], b: List[float]) -> float:
    ix = max(0., min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0., min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _rle(mask: np.ndarray) -> Dict:
    """Uncompressed COCO RLE (column-major run lengths, starting with 0s)."""
    flat = np.asarray(mask, np.uint8).flatten(order='F')
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0] == 1:
        counts = [0] + counts
    return dict(counts=counts, size=list(mask.shape))


def _render_image(
        rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray, List[Dict]]:
    """One image (BGR uint8), its class-index mask and its annotations
    (without ids)."""
    h, w = (int(v) for v in rng.integers(*_SIZE_RANGE, size=2))
    img = _texture(rng, h, w)
    labels = np.zeros((h, w), np.uint8)
    anns: List[Dict] = []
    if rng.random() < _EMPTY_PROB:
        return img.astype(np.uint8), labels, anns

    short = min(h, w)
    boxes: List[List[float]] = []
    for _ in range(int(rng.integers(1, _MAX_OBJECTS + 1))):
        for _attempt in range(20):
            label = int(rng.integers(1, len(SHAPE_CLASSES) + 1))
            size = rng.uniform(*_OBJ_SCALE) * short
            aspect = rng.uniform(0.6, 1.6)
            half_w = size * np.sqrt(aspect) / 2
            half_h = size / np.sqrt(aspect) / 2
            half_w, half_h = min(half_w, w / 2 - 2), min(half_h, h / 2 - 2)
            cx = rng.uniform(half_w + 1, w - half_w - 1)
            cy = rng.uniform(half_h + 1, h - half_h - 1)
            poly = _shape_polygon(rng, label, cx, cy, half_w, half_h)
            mask = _rasterize(poly, h, w)
            box = _bbox_of(mask)
            if box is None or any(_iou(box, b) > 0.15 for b in boxes):
                continue
            # paint inside the box only: [bh, bw, 1] shading of one colour
            x0, y0, bw, bh = (int(v) for v in box)
            region = (slice(y0, y0 + bh), slice(x0, x0 + bw))
            shade = rng.uniform(0.8, 1.0, size=(bh, bw, 1))
            img[region] = np.where(mask[region][..., None] > 0,
                                   np.array(_color(rng)) * shade, img[region])
            labels[mask > 0] = label
            boxes.append(box)
            anns.append(
                _annotation(label, box, mask, 0,
                            [np.round(poly, 1).flatten().tolist()]))
            break

    if rng.random() < _CROWD_PROB:
        _add_crowd(rng, img, labels, boxes, anns)

    # thin ignore band where the label changes (both sides of each edge)
    edge = cv2.dilate(labels, np.ones(
        (3, 3), np.uint8)) != cv2.erode(labels, np.ones((3, 3), np.uint8))
    labels[edge] = _IGNORE
    return img.astype(np.uint8), labels, anns


def _annotation(label: int, box: List[float], mask: np.ndarray,
                iscrowd: int, segmentation) -> Dict:
    """A COCO annotation (without ids) of the shape drawn in ``mask``."""
    return dict(
        category_id=label,
        bbox=box,
        area=float(mask.sum()),
        iscrowd=iscrowd,
        segmentation=segmentation)


def _add_crowd(rng: np.random.Generator, img: np.ndarray, labels: np.ndarray,
               boxes: List[List[float]], anns: List[Dict]) -> None:
    """A cluster of small same-class shapes annotated as one iscrowd box."""
    h, w = labels.shape
    side = 0.3 * min(h, w)
    for _attempt in range(20):
        x0, y0 = rng.uniform(0, w - side), rng.uniform(0, h - side)
        region = [x0, y0, side, side]
        if all(_iou(region, b) == 0 for b in boxes):
            break
    else:
        return
    label = int(rng.integers(1, len(SHAPE_CLASSES) + 1))
    color = np.array(_color(rng))
    union = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(4, 9))):
        half = rng.uniform(0.04, 0.07) * min(h, w)
        cx = rng.uniform(x0 + half, x0 + side - half)
        cy = rng.uniform(y0 + half, y0 + side - half)
        union |= _rasterize(
            _shape_polygon(rng, label, cx, cy, half, half), h, w)
    img[union > 0] = color
    labels[union > 0] = label
    box = _bbox_of(union)
    boxes.append(box)
    anns.append(_annotation(label, box, union, 1, _rle(union)))


def _write_split(root: str, split: str, num_images: int, seed: int) -> None:
    img_dir = osp.join(root, split)
    mask_dir = osp.join(root, 'masks', split)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(mask_dir, exist_ok=True)
    images, annotations, stems = [], [], []
    for index in range(num_images):
        # independent stream per image: a split can grow without changing
        # the images it already has
        rng = np.random.default_rng([seed, SPLITS.index(split), index])
        img, labels, anns = _render_image(rng)
        stem = f'{index:06d}'
        cv2.imwrite(
            osp.join(img_dir, stem + '.jpg'), img,
            [cv2.IMWRITE_JPEG_QUALITY, 92])
        cv2.imwrite(osp.join(mask_dir, stem + '.png'), labels)
        image_id = index + 1
        images.append(
            dict(
                id=image_id,
                file_name=stem + '.jpg',
                height=int(img.shape[0]),
                width=int(img.shape[1])))
        for ann in anns:
            ann.update(id=len(annotations) + 1, image_id=image_id)
            annotations.append(ann)
        stems.append(stem)
    coco = dict(
        info=dict(
            description=f'mmvit generated shapes, {split} split, seed {seed}'),
        licenses=[],
        images=images,
        annotations=annotations,
        categories=[
            dict(id=i + 1, name=name, supercategory='shape')
            for i, name in enumerate(SHAPE_CLASSES)
        ])
    with open(osp.join(root, 'annotations', f'instances_{split}.json'),
              'w') as f:
        json.dump(coco, f)
    write_lines(osp.join(root, 'splits', f'{split}.txt'), stems)


def generate_shapes_dataset(root: str,
                            num_train: int = 2400,
                            num_val: int = 200,
                            seed: int = 0) -> None:
    """Write the shapes dataset under ``root`` (see the module docstring).

    The result depends only on the arguments. Existing files of the same
    names are overwritten.

    Args:
        root (str): Output directory, e.g. ``data/shapes``.
        num_train (int): Training images. Defaults to 2400.
        num_val (int): Validation images. Defaults to 200.
        seed (int): Random seed. Defaults to 0.
    """
    write_splits(root, ('annotations', 'splits'), _write_split, num_train,
                 num_val, seed)


def write_lines(path: str, lines: List[str]) -> None:
    """``lines`` as a text file, one per line."""
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def write_splits(root: str, folders: Tuple[str, ...],
                 write_split: Callable[[str, str, int, int], None],
                 num_train: int, num_val: int, seed: int) -> None:
    """Make ``folders`` under ``root`` and write the train and val splits
    with ``write_split(root, split, num_images, seed)``."""
    if num_train < 0 or num_val < 0:
        raise ValueError(f'image counts must be >= 0, got num_train='
                         f'{num_train}, num_val={num_val}')
    for folder in folders:
        os.makedirs(osp.join(root, folder), exist_ok=True)
    for split, num_images in zip(SPLITS, (num_train, num_val)):
        write_split(root, split, num_images, seed)


def ensure_shapes_dataset(root: str,
                          num_train: int = 2400,
                          num_val: int = 200,
                          seed: int = 0) -> bool:
    """Generate the detection / segmentation data at ``root`` unless its
    annotations exist (see :func:`ensure_generated`)."""
    return ensure_generated(
        root,
        osp.join('annotations', 'instances_val.json'),
        generate_shapes_dataset,
        num_train=num_train,
        num_val=num_val,
        seed=seed)
