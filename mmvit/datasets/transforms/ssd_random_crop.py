"""ml-cvnets' SSD random crop (``SSDCroping``) as an mmcv transform."""
import numbers
from typing import Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmvit.registry import TRANSFORMS

#: ml-cvnets v0.1 ``SSDCroping.sample_options``: 0.0 keeps the image.
CVNETS_THRESHOLDS = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0)


def box_array(boxes) -> np.ndarray:
    """``[N, 4]`` float64 ``(x1, y1, x2, y2)`` of mmdet boxes (a
    ``HorizontalBoxes``) or of an array."""
    if hasattr(boxes, 'tensor'):  # mmdet BaseBoxes
        boxes = boxes.tensor.detach().cpu().numpy()
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def crop_ious(boxes: np.ndarray, patch: np.ndarray) -> np.ndarray:
    """IoU of every box ``[N, 4]`` with the crop rectangle ``patch``
    ``(left, top, right, bottom)`` (of positive area): ``[N]``."""
    lt = np.maximum(boxes[:, :2], patch[:2])
    rb = np.minimum(boxes[:, 2:], patch[2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=1)
    areas = np.clip(boxes[:, 2:] - boxes[:, :2], 0, None).prod(axis=1)
    patch_area = float((patch[2] - patch[0]) * (patch[3] - patch[1]))
    return inter / (areas + patch_area - inter)


def centres_inside(boxes: np.ndarray, patch: np.ndarray) -> np.ndarray:
    """Whether each box's centre lies strictly inside ``patch``: ``[N]``."""
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    return ((centres > patch[:2]) & (centres < patch[2:])).all(axis=1)


@TRANSFORMS.register_module()
class SSDRandomCrop(BaseTransform):
    """Random crop of ml-cvnets' SSD recipe (``SSDCroping``, v0.1
    ``data/transforms/image.py``), for mmdet 3 results.

    Draw a threshold from ``thresholds``. For 0.0 return the input
    uncropped. Otherwise try up to ``max_trials`` crops: width
    ``U(min_crop_size, 1) * W``, height ``U(min_crop_size, 1) * H``
    (a trial whose height / width lies outside ``aspect_ratio_range`` is
    dropped), placed uniformly in the image and truncated to integer pixels.
    A trial is accepted when the **largest** IoU of a gt box with the crop
    rectangle is >= the threshold and at least one box centre lies strictly
    inside it. When every trial fails, draw a new threshold, and so on.

    The boxes whose centres lie inside the crop are kept, clipped to it and
    shifted into its frame; their labels, ignore flags and masks follow.
    Results without boxes pass unchanged.

    Where this differs from mmdet's ``MinIoURandomCrop``: the largest IoU is
    tested (mmdet: every box must pass), 0.0 means *no crop* (mmdet keeps the
    image on a draw of 1 and takes any crop on 0), 40 trials (mmdet 50).

    The threshold 1.0 (cvnets' list) accepts a crop only when its integer
    rectangle coincides with a gt box; for COCO's fractional coordinates
    that never happens, so 1.0 acts as a redraw and the image stays uncropped
    with probability ``1 / (1 + sum_t s_t)`` over the other thresholds,
    ``s_t`` the chance that ``max_trials`` trials find a crop (1/6 if every
    threshold up to 0.9 always found one, more otherwise), not 1/7.

    The randomness (every draw, through the global ``np.random`` as mmcv's
    transforms) is in :meth:`_sample_patch`, cached by mmcv's
    ``cache_random_params`` so that a ``TransformBroadcaster`` crops every
    image of a group alike.

    Required Keys:

    - img
    - gt_bboxes (``HorizontalBoxes`` or ``np.ndarray [N, 4]``) (optional)
    - gt_bboxes_labels (optional)
    - gt_ignore_flags (optional)
    - gt_masks (optional)
    - gt_seg_map (optional)

    Modified Keys: the same and img_shape.

    Args:
        thresholds (Sequence[float]): Minimum largest IoU to draw from, in
            [0, 1]; 0.0 (needed, else an image whose boxes no crop can
            satisfy is drawn for ever) leaves the image uncropped.
            Defaults to cvnets' ``(0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0)``.
        max_trials (int): Crops tried per drawn threshold. Defaults to 40.
        min_crop_size (float): Smallest side of a crop as a fraction of the
            image's, in (0, 1]. Defaults to 0.3.
        aspect_ratio_range (tuple[float, float]): Accepted crop height /
            width. Defaults to ``(0.5, 2.0)``.
    """

    def __init__(self,
                 thresholds: Sequence[float] = CVNETS_THRESHOLDS,
                 max_trials: int = 40,
                 min_crop_size: float = 0.3,
                 aspect_ratio_range: Tuple[float, float] = (0.5, 2.)) -> None:
        if (isinstance(thresholds, (str, bytes))
                or not isinstance(thresholds, Sequence) or not thresholds
                or not all(_is_real(t) and 0 <= t <= 1 for t in thresholds)):
            raise ValueError('thresholds must be a non-empty sequence of '
                             f'numbers in [0, 1], got {thresholds!r}')
        if 0 not in thresholds:
            raise ValueError(
                'thresholds must contain 0.0 (keep the image uncropped); '
                f'without it the draw may never end, got {tuple(thresholds)}')
        if (isinstance(max_trials, bool)
                or not isinstance(max_trials, numbers.Integral)
                or max_trials < 1):
            raise ValueError(
                f'max_trials must be a positive integer, got {max_trials!r}')
        if not _is_real(min_crop_size) or not 0 < min_crop_size <= 1:
            raise ValueError(
                f'min_crop_size must be in (0, 1], got {min_crop_size!r}')
        if (not isinstance(aspect_ratio_range, Sequence)
                or len(aspect_ratio_range) != 2
                or not all(_is_real(r) for r in aspect_ratio_range)
                or not 0 < aspect_ratio_range[0] <= aspect_ratio_range[1]):
            raise ValueError('aspect_ratio_range must be (low, high) with '
                             f'0 < low <= high, got {aspect_ratio_range!r}')
        self.thresholds = tuple(float(t) for t in thresholds)
        self.max_trials = int(max_trials)
        self.min_crop_size = float(min_crop_size)
        self.aspect_ratio_range = tuple(float(r) for r in aspect_ratio_range)

    def _try_crops(self, threshold: float, height: int, width: int,
                   boxes: np.ndarray) -> Optional[np.ndarray]:
        """Up to ``max_trials`` crops for one drawn ``threshold``: the first
        accepted ``(left, top, right, bottom)`` (int), or None."""
        low, high = self.aspect_ratio_range
        for _ in range(self.max_trials):
            crop_w = np.random.uniform(self.min_crop_size * width, width)
            crop_h = np.random.uniform(self.min_crop_size * height, height)
            if not low <= crop_h / crop_w <= high:
                continue
            left = np.random.uniform(0, width - crop_w)
            top = np.random.uniform(0, height - crop_h)
            patch = np.array(
                [int(left), int(top),
                 int(left + crop_w),
                 int(top + crop_h)])
            # a line or a point (only for images a few pixels wide)
            if patch[2] <= patch[0] or patch[3] <= patch[1]:
                continue
            if crop_ious(boxes, patch).max() < threshold:
                continue
            if not centres_inside(boxes, patch).any():
                continue
            return patch
        return None

    @cache_randomness
    def _sample_patch(self, height: int, width: int,
                      boxes: np.ndarray) -> Optional[np.ndarray]:
        """The crop ``(left, top, right, bottom)`` of an image with ``boxes``
        (``[N, 4]``, N >= 1), or None to keep it whole."""
        while True:
            threshold = self.thresholds[np.random.randint(
                len(self.thresholds))]
            if threshold == 0:
                return None
            patch = self._try_crops(threshold, height, width, boxes)
            if patch is not None:
                return patch

    def transform(self, results: dict) -> dict:
        """Crop ``results`` (in place) and return it."""
        boxes = results.get('gt_bboxes')
        if boxes is None or len(boxes) == 0:
            return results
        coords = box_array(boxes)
        img = results['img']
        height, width = img.shape[:2]
        patch = self._sample_patch(height, width, coords)
        if patch is None:
            return results
        left, top, right, bottom = (int(v) for v in patch)
        keep = centres_inside(coords, patch)

        img = img[top:bottom, left:right]
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        if hasattr(boxes, 'tensor'):  # mmdet BaseBoxes
            boxes = boxes[keep]
            boxes.translate_([-left, -top])
            boxes.clip_([bottom - top, right - left])
        else:
            shifted = coords[keep] - [left, top, left, top]
            shifted = np.clip(shifted, 0, [right - left, bottom - top] * 2)
            boxes = shifted.astype(np.asarray(boxes).dtype)
        results['gt_bboxes'] = boxes
        for key in ('gt_bboxes_labels', 'gt_ignore_flags'):
            if results.get(key) is not None:
                results[key] = results[key][keep]
        if results.get('gt_masks') is not None:
            results['gt_masks'] = results['gt_masks'][np.flatnonzero(
                keep)].crop(patch)
        if results.get('gt_seg_map') is not None:
            results['gt_seg_map'] = results['gt_seg_map'][top:bottom,
                                                          left:right]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(thresholds={self.thresholds}, '
                f'max_trials={self.max_trials}, '
                f'min_crop_size={self.min_crop_size}, '
                f'aspect_ratio_range={self.aspect_ratio_range})')


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
