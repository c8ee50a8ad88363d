"""Checks of dataset files and annotations, and how their findings are told.

Every finding names the file (and the annotation, where there is one) so
that a user can fix the data. What is checked where:

- :class:`mmvit.CheckedCocoDataset` (``coco.py``): the annotation file,
  when the dataset is built (before training or evaluation): missing or empty image files (error), boxes that mmdet's
  ``CocoDataset`` drops or that stick out of the image (warning), images
  without annotations (note).
- :class:`mmvit.LoadImageFromFileChecked` (``transforms/loading.py``): each
  image as it is loaded: empty, truncated or undecodable files (error),
  alpha channels dropped (warning), grey / palette / CMYK images converted
  to BGR and unusually small or elongated images (notes).
- :class:`mmvit.CheckSegMap` (``transforms/seg_map.py``): each segmentation
  mask as it is loaded: its size against its image's, its class values
  against the dataset's classes (error).

Findings go to mmengine's current logger (the runner's log), warnings at
``WARNING`` and notes at ``INFO`` level; errors are raised.

mmvit's configs load training images with the checked loader; their test
pipelines keep mmcv's ``LoadImageFromFile`` by that name, because mmdet's
``DetInferencer`` and mmseg's ``MMSegInferencer`` look it up there (the
COCO dataset's checks still run for evaluation, and so does the mask
check).
"""
import logging
import math
import os
import stat
from collections import Counter
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log

#: How many examples a summary of many findings lists before "and N more".
NUM_EXAMPLES = 5


def listing(items: Sequence[str], limit: int = NUM_EXAMPLES) -> str:
    """``items`` joined by ``'; '``, the first ``limit`` of them and
    ``'... and N more'`` for the rest."""
    text = '; '.join(items[:limit])
    if len(items) > limit:
        text += f'; ... and {len(items) - limit} more'
    return text


class Reporter:
    """Logs findings once per ``(kind, key)`` and at most ``limit`` per kind
    (one further line says the rest are not shown), so that a bad file met
    in every epoch, or a thousand grey images, do not flood the log.

    Each dataloader worker holds its own copy, so each worker process
    reports on its own.

    Args:
        limit (int): Findings of one kind logged by this reporter.
            Defaults to 10.
    """

    def __init__(self, limit: int = 10) -> None:
        if limit < 0:
            raise ValueError(f'limit must be >= 0, got {limit}')
        self.limit = limit
        self._seen = set()
        self._counts = Counter()

    def __call__(self,
                 kind: str,
                 key: str,
                 message: str,
                 level: int = logging.WARNING) -> None:
        """Log ``message`` unless ``(kind, key)`` was reported before or
        ``limit`` findings of ``kind`` already were."""
        if (kind, key) in self._seen or self._counts[kind] > self.limit:
            return
        self._counts[kind] += 1
        if self._counts[kind] > self.limit:
            print_log(
                f'further findings of kind "{kind}" are not shown '
                f'(first {self.limit} shown)',
                logger='current',
                level=level)
            return
        self._seen.add((kind, key))
        print_log(message, logger='current', level=level)


def is_local_path(path) -> bool:
    """Whether ``path`` is a non-empty path on the local file system (a
    string without ``scheme://``)."""
    return isinstance(path, str) and bool(path) and '://' not in path


def check_files(files: Sequence[Tuple[str, str]], source: str) -> None:
    """Raise if a listed file is missing or empty.

    Args:
        files: ``(path, what)`` pairs, ``what`` naming the entry that lists
            the file, e.g. ``'image id 42'``. Non-local paths are skipped.
        source (str): Where the list comes from, e.g. the annotation file.

    Raises:
        FileNotFoundError: Some files do not exist (all are listed).
        OSError: Some files are empty (0 bytes).
    """
    missing: List[str] = []
    empty: List[str] = []
    for path, what in files:
        if not is_local_path(path):
            continue
        try:
            info = os.stat(path)
        except OSError:
            info = None
        if info is None or not stat.S_ISREG(info.st_mode):
            missing.append(f'{path} ({what})')
        elif info.st_size == 0:
            empty.append(f'{path} ({what})')
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} of {len(files)} image files listed in {source} '
            f'do not exist or are not files: {listing(missing)}')
    if empty:
        raise OSError(f'{len(empty)} of {len(files)} image files listed in '
                      f'{source} are empty (0 bytes): {listing(empty)}')


# JPEG markers without a length field: TEM, RST0-7, SOI, EOI.
_STANDALONE = {0x01, *range(0xD0, 0xD8), 0xD8, 0xD9}
_EOI, _SOS = 0xD9, 0xDA


def jpeg_is_complete(data: bytes) -> bool:
    """Whether the JPEG stream ``data`` runs through to its end-of-image
    marker.

    OpenCV decodes a JPEG that was cut short (an interrupted download or
    copy) without an error: the missing rows come out grey. This walks the
    marker segments, skips each scan's entropy-coded data (where ``FF 00``
    and restart markers may occur) and looks for the end-of-image marker, so
    an embedded thumbnail's end marker is not taken for the image's.
    Trailing bytes after the end marker are allowed.
    """
    size = len(data)
    if size < 4 or data[0] != 0xFF or data[1] != 0xD8:
        return False
    pos = 2
    while pos + 1 < size:
        if data[pos] != 0xFF:  # junk between segments: resynchronise
            pos = data.find(b'\xff', pos)
            if pos < 0:
                return False
            continue
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == _EOI:
            return True
        if marker in _STANDALONE:
            pos += 2
            continue
        if pos + 4 > size:
            return False
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], 'big')
        if marker != _SOS:
            continue
        # Entropy-coded data of the scan, up to the next marker that is not
        # a stuffed zero or a restart marker.
        while True:
            pos = data.find(b'\xff', pos)
            if pos < 0 or pos + 1 >= size:
                return False
            following = data[pos + 1]
            if following == 0x00 or 0xD0 <= following <= 0xD7:
                pos += 2
            elif following == 0xFF:
                pos += 1
            else:
                break
    return False


#: Outcome of :func:`coco_box_problem`.
BOX_OUTSIDE = 'outside'  # no overlap with the image: mmdet drops it
BOX_DEGENERATE = 'degenerate'  # width or height < 1 px, or area <= 0: dropped
BOX_CLIPPED = 'clipped'  # sticks out of the image by more than a pixel

#: How far (in pixels) a box may stick out of its image unreported (COCO
#: boxes often end a fraction of a pixel past the border).
BOX_TOLERANCE = 1.


def coco_box_problem(
        bbox: Sequence[float], area: float, width: float,
        height: float) -> Tuple[Optional[str], Optional[List[float]]]:
    """What becomes of a COCO ``[x, y, w, h]`` box in an image of ``width``
    x ``height``, and the box clipped to the image.

    mmdet's ``CocoDataset.parse_data_info`` drops a box without overlap with
    the image, or with a side under one pixel or an ``area`` <= 0; it keeps
    a box that sticks out of the image (its transforms clip it later). Here
    the sides are measured after clipping, so a box with less than a pixel
    inside the image is dropped too.

    Returns:
        tuple: ``(problem, clipped)``: ``problem`` is ``None`` (nothing to
        say), :data:`BOX_OUTSIDE`, :data:`BOX_DEGENERATE` or
        :data:`BOX_CLIPPED` (out by more than :data:`BOX_TOLERANCE`);
        ``clipped`` is the ``[x, y, w, h]`` box clipped to the image, or
        ``None`` for a dropped one.

    Raises:
        ValueError: ``bbox`` is not 4 finite numbers.
    """
    if (not isinstance(bbox, (list, tuple)) or len(bbox) != 4 or not all(
            isinstance(v, (int, float)) and math.isfinite(v) for v in bbox)):
        raise ValueError(f'bbox {bbox!r} is not [x, y, width, height] of 4 '
                         'finite numbers')
    x1, y1, w, h = (float(v) for v in bbox)
    x2, y2 = x1 + w, y1 + h
    cx1, cy1 = max(x1, 0.), max(y1, 0.)
    cw, ch = min(x2, width) - cx1, min(y2, height) - cy1
    if w <= 0 or h <= 0 or area <= 0:
        return BOX_DEGENERATE, None
    if cw <= 0 or ch <= 0:
        return BOX_OUTSIDE, None
    if cw < 1 or ch < 1:
        return BOX_DEGENERATE, None
    out = max(-x1, -y1, x2 - width, y2 - height)
    return (BOX_CLIPPED if out > BOX_TOLERANCE else None), [cx1, cy1, cw, ch]


def invalid_labels(seg_map: np.ndarray, num_classes: int,
                   ignore_index: int) -> np.ndarray:
    """The sorted distinct values of ``seg_map`` that are neither a class
    (``0 .. num_classes - 1``) nor ``ignore_index``."""
    bad = ((seg_map < 0) | (seg_map >= num_classes)) & (
        seg_map != ignore_index)
    if not bad.any():
        return np.zeros(0, seg_map.dtype)
    return np.unique(seg_map[bad])
