"""ml-cvnets' (v0.1) segmentation training augmentation as mmseg transforms.

The DeepLabv3-MobileViT recipe (``config/segmentation/deeplabv3_mobilevit_*``
``.yaml`` with ``data/transforms/image.py``) trains on
``RandomResize(min_size=256, max_size=1024)`` -> ``RandomCrop(512,
resize_if_needed=True)`` -> ``RandomHorizontalFlip(p=0.5)``:

- :class:`RandomShortSideResize`: the short side goes to a random integer
  in ``[min_size, max_size]``, the aspect ratio is kept;
- :class:`RandomCropScaleUp`: an image smaller than the crop is first
  scaled up (aspect ratio kept) until it covers the crop, so the crop never
  pads and never holds ignored padding; then a uniform random window;
- the flip is mmseg's ``RandomFlip(prob=0.5)``.

Images are resized bilinearly and masks with nearest neighbour (OpenCV, as
cvnets does), so a mask never holds a value its input did not have.
"""
from typing import Sequence, Tuple

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmvit.registry import TRANSFORMS


def _resize_results(results: dict, height: int, width: int) -> None:
    """Resize ``img`` (bilinear) and every ``seg_fields`` map (nearest) to
    ``height`` x ``width`` in place, keeping the metadata in step."""
    old_h, old_w = results['img'].shape[:2]
    if (old_h, old_w) == (height, width):
        return
    results['img'] = mmcv.imresize(
        results['img'], (width, height),
        interpolation='bilinear',
        backend='cv2')
    for key in results.get('seg_fields', []):
        results[key] = mmcv.imresize(
            results[key], (width, height),
            interpolation='nearest',
            backend='cv2')
    results['img_shape'] = (height, width)
    # cumulative over the resizes of the pipeline, (w, h) as mmcv's Resize
    w_scale, h_scale = results.get('scale_factor', (1., 1.))
    results['scale_factor'] = (w_scale * width / old_w,
                               h_scale * height / old_h)
    results['keep_ratio'] = True


def _short_side_to(height: int, width: int, size: int) -> Tuple[int, int]:
    """(height, width) with the short side at ``size``; the long side is
    truncated as in cvnets (``int(size * long / short)``)."""
    if width < height:
        return int(size * height / width), size
    return size, int(size * width / height)


@TRANSFORMS.register_module()
class RandomShortSideResize(BaseTransform):
    """Resize the short side to a random size, keeping the aspect ratio.

    The size is drawn uniformly from the integers ``min_size .. max_size``
    (both included), as ``random.randint`` in cvnets' ``RandomResize``; the
    long side becomes ``int(size * long / short)``.

    Required keys: ``img``; modified: ``img``, ``img_shape``, every key in
    ``seg_fields`` (e.g. ``gt_seg_map``); added: ``scale_factor``,
    ``keep_ratio``.

    Args:
        min_size (int): Smallest short side. Defaults to 256.
        max_size (int): Largest short side. Defaults to 1024.
    """

    def __init__(self, min_size: int = 256, max_size: int = 1024) -> None:
        for name, value in (('min_size', min_size), ('max_size', max_size)):
            if (not isinstance(value, int) or isinstance(value, bool)
                    or value < 1):
                raise ValueError(
                    f'{name} must be a positive int, got {value!r}')
        if min_size > max_size:
            raise ValueError(f'min_size ({min_size}) must not exceed '
                             f'max_size ({max_size})')
        self.min_size = min_size
        self.max_size = max_size

    @cache_randomness
    def _random_size(self) -> int:
        return int(np.random.randint(self.min_size, self.max_size + 1))

    def transform(self, results: dict) -> dict:
        height, width = results['img'].shape[:2]
        new_h, new_w = _short_side_to(height, width, self._random_size())
        _resize_results(results, new_h, new_w)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(min_size={self.min_size}, '
                f'max_size={self.max_size})')


@TRANSFORMS.register_module()
class RandomCropScaleUp(BaseTransform):
    """Random crop that scales a too-small image up instead of padding it.

    If the image is smaller than ``crop_size`` in either side, it is first
    resized, aspect ratio kept, by the smallest factor that makes it cover
    the crop (for a square crop: the short side goes to the crop side, as
    cvnets' ``RandomCrop(resize_if_needed=True)``). Then a window of
    ``crop_size`` is taken at a uniformly random offset (both ends
    included). Unlike mmseg's ``RandomCrop`` there is no ``cat_max_ratio``
    and the result is always exactly ``crop_size``.

    Required keys: ``img``; modified: ``img``, ``img_shape``, every key in
    ``seg_fields``; added: ``scale_factor``, ``keep_ratio`` (when scaled up).

    Args:
        crop_size (int | Sequence[int]): ``(height, width)`` of the crop, or
            one int for a square. Defaults to 512.
    """

    def __init__(self, crop_size: Sequence[int] = 512) -> None:
        if isinstance(crop_size, int) and not isinstance(crop_size, bool):
            crop_size = (crop_size, crop_size)
        if (not isinstance(crop_size, Sequence) or len(crop_size) != 2
                or not all(
                    isinstance(s, int) and not isinstance(s, bool) and s > 0
                    for s in crop_size)):
            raise ValueError(
                'crop_size must be a positive int or a (height, width) pair '
                f'of them, got {crop_size!r}')
        self.crop_size = tuple(crop_size)

    def _scaled_up_shape(self, height: int, width: int) -> Tuple[int, int]:
        crop_h, crop_w = self.crop_size
        if height >= crop_h and width >= crop_w:
            return height, width
        if crop_h / height >= crop_w / width:  # the height binds
            return crop_h, max(crop_w, int(width * crop_h / height))
        return max(crop_h, int(height * crop_w / width)), crop_w

    @cache_randomness
    def _random_offset(self, height: int, width: int) -> Tuple[int, int]:
        crop_h, crop_w = self.crop_size
        top = int(np.random.randint(0, height - crop_h + 1))
        left = int(np.random.randint(0, width - crop_w + 1))
        return top, left

    def transform(self, results: dict) -> dict:
        new_h, new_w = self._scaled_up_shape(*results['img'].shape[:2])
        _resize_results(results, new_h, new_w)
        top, left = self._random_offset(new_h, new_w)
        crop_h, crop_w = self.crop_size
        window = (slice(top, top + crop_h), slice(left, left + crop_w))
        results['img'] = results['img'][window]
        for key in results.get('seg_fields', []):
            results[key] = results[key][window]
        results['img_shape'] = self.crop_size
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(crop_size={self.crop_size})'
