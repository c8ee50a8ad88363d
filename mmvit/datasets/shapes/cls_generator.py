"""The generated classification set the demo pretrains on (its ImageNet):
one shape or none per image, drawn as in :mod:`.generator`, in mmpretrain's
annotation-file layout. Only numpy and OpenCV are needed."""
import os
import os.path as osp
from typing import Tuple

import cv2
import numpy as np

from .first_use import ensure_generated
from .generator import (SHAPE_CLASSES, SPLITS, _color, _rasterize,
                        _shape_polygon, _texture, write_lines,
                        write_splits)

CLS_CLASSES = SHAPE_CLASSES + ('background', )
_CLS_SIZE_RANGE = (112, 256)  # image height / width in pixels
_CLS_OBJ_SCALE = (0.3, 0.85)  # object size as a fraction of the short side


def render_classification_image(
        rng: np.random.Generator) -> Tuple[np.ndarray, int]:
    """One BGR uint8 image showing one shape, or none (``background``: the
    first thing a detector must tell apart), and its index into
    :data:`CLS_CLASSES`."""
    h, w = (int(v) for v in rng.integers(*_CLS_SIZE_RANGE, size=2))
    img = _texture(rng, h, w)
    label = int(rng.integers(len(CLS_CLASSES)))
    if CLS_CLASSES[label] != 'background':
        size = rng.uniform(*_CLS_OBJ_SCALE) * min(h, w)
        aspect = rng.uniform(0.6, 1.6)
        half_w = min(size * np.sqrt(aspect) / 2, w / 2 - 2)
        half_h = min(size / np.sqrt(aspect) / 2, h / 2 - 2)
        cx = rng.uniform(half_w + 1, w - half_w - 1)
        cy = rng.uniform(half_h + 1, h - half_h - 1)
        mask = _rasterize(
            _shape_polygon(rng, label + 1, cx, cy, half_w, half_h), h, w)
        shade = rng.uniform(0.8, 1.0, size=(h, w, 1))
        img = np.where(mask[..., None] > 0,
                       np.array(_color(rng)) * shade, img)
    return img.astype(np.uint8), label


def _write_classification_split(root: str, split: str, num_images: int,
                                seed: int) -> None:
    for name in CLS_CLASSES:
        os.makedirs(osp.join(root, split, name), exist_ok=True)
    lines = []
    for index in range(num_images):
        # one stream per image, apart from the detection images' streams
        rng = np.random.default_rng(
            [seed, len(SPLITS) + SPLITS.index(split), index])
        img, label = render_classification_image(rng)
        path = f'{CLS_CLASSES[label]}/{index:06d}.jpg'
        cv2.imwrite(
            osp.join(root, split, path), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
        lines.append(f'{path} {label}')
    write_lines(osp.join(root, 'meta', f'{split}.txt'), lines)


def generate_shapes_classification(root: str,
                                   num_train: int = 4800,
                                   num_val: int = 400,
                                   seed: int = 0) -> None:
    """Write the classification set under ``root``, in mmpretrain's
    annotation-file layout (as ImageNet's)::

        ROOT/{train,val}/<class>/*.jpg   mixed sizes, one shape or none
        ROOT/meta/{train,val}.txt        "<class>/<stem>.jpg <label>" lines

    The result depends only on the arguments.
    """
    write_splits(root, ('meta', ), _write_classification_split, num_train,
                 num_val, seed)


def ensure_shapes_classification(root: str,
                                 num_train: int = 4800,
                                 num_val: int = 400,
                                 seed: int = 0) -> bool:
    """Generate the classification set at ``root`` unless it exists (see
    :func:`ensure_generated`)."""
    return ensure_generated(
        root,
        osp.join('meta', 'val.txt'),
        generate_shapes_classification,
        num_train=num_train,
        num_val=num_val,
        seed=seed)
