"""Check a loaded segmentation mask against its image and the classes."""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmvit.registry import TRANSFORMS
from ..validation import Reporter, invalid_labels

_INVALID_LABEL_MODES = ('error', 'ignore')


@TRANSFORMS.register_module()
class CheckSegMap(BaseTransform):
    """Stop on a segmentation mask that does not fit its image or classes,
    naming the mask and the image files.

    Put it right after mmseg's ``LoadAnnotations``. Without a check, mmseg
    crops a mask of another size than its image at other places than the
    image (or stops at the batch collation), and a class value outside the
    classes stops the cross-entropy loss ("Target 7 is out of bounds", a
    device-side assertion on GPU) while ``IoUMetric`` leaves those pixels
    out of every count. This transform raises ``ValueError`` instead:

    - the mask is not single-channel (e.g. a colour-coded RGB mask);
    - the mask's height x width differs from the image's (``ori_shape``, as
      loaded, so it also works after a ``Resize`` in a test pipeline);
    - the mask has values that are neither a class (``0 .. num_classes-1``,
      after mmseg's ``reduce_zero_label`` / ``label_map``) nor
      ``ignore_index``; with ``invalid_labels='ignore'`` they are set to
      ``ignore_index`` with a warning instead.

    Results without ``gt_seg_map`` (inference) pass unchanged.

    Args:
        num_classes (int): Classes of the dataset (``len(classes)``).
        ignore_index (int): Label of ignored pixels. Defaults to 255.
        invalid_labels (str): ``'error'`` or ``'ignore'``. Defaults to
            ``'error'``.
        report_limit (int): Warnings logged per process with
            ``invalid_labels='ignore'``. Defaults to 10.
    """

    def __init__(self,
                 num_classes: int,
                 ignore_index: int = 255,
                 invalid_labels: str = 'error',
                 report_limit: int = 10) -> None:
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(
                f'num_classes must be a positive int, got {num_classes!r}')
        if invalid_labels not in _INVALID_LABEL_MODES:
            raise ValueError(f'invalid_labels must be one of '
                             f'{_INVALID_LABEL_MODES}, got {invalid_labels!r}')
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.invalid_labels = invalid_labels
        self.report = Reporter(report_limit)

    def transform(self, results: dict) -> Optional[dict]:
        seg_map = results.get('gt_seg_map')
        if seg_map is None:
            return results
        where = (f'mask {results.get("seg_map_path")} of image '
                 f'{results.get("img_path")}')
        if seg_map.ndim != 2:
            raise ValueError(
                f'{where}: expected a single-channel class-index mask, got '
                f'an array of shape {tuple(seg_map.shape)} (a colour-coded '
                'mask must be converted to class indices first)')
        image_shape = results.get('ori_shape')
        if image_shape is not None and tuple(seg_map.shape) != tuple(
                image_shape[:2]):
            raise ValueError(
                f'{where}: the mask is {seg_map.shape[1]}x{seg_map.shape[0]}'
                f' but the image is {image_shape[1]}x{image_shape[0]} '
                '(width x height); a mask must have the size of its image')
        bad = invalid_labels(seg_map, self.num_classes, self.ignore_index)
        if bad.size == 0:
            return results
        values = ', '.join(str(v) for v in bad.tolist())
        problem = (f'{where}: class values {values} are neither a class '
                   f'(0..{self.num_classes - 1}) nor the ignore index '
                   f'{self.ignore_index}')
        if self.invalid_labels == 'error':
            raise ValueError(
                f'{problem}. Check the number of classes, reduce_zero_label '
                "and label_map of the dataset, or set invalid_labels='ignore'"
                f' in {type(self).__name__} to ignore those pixels')
        self.report('invalid labels ignored', str(results.get('seg_map_path')),
                    f'{problem}: those pixels are ignored')
        seg_map = seg_map.copy()
        seg_map[np.isin(seg_map, bad)] = self.ignore_index
        results['gt_seg_map'] = seg_map
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index}, '
                f'invalid_labels={self.invalid_labels!r})')
