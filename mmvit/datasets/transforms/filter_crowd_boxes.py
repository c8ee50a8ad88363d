"""Drop crowd (ignored) boxes before augmentation, as ml-cvnets does."""
import numpy as np
from mmcv.transforms import BaseTransform

from mmvit.registry import TRANSFORMS
from .loading import describe_sample

_INSTANCE_KEYS = ('gt_bboxes', 'gt_bboxes_labels', 'gt_ignore_flags')


@TRANSFORMS.register_module()
class FilterCrowdBoxes(BaseTransform):
    """Remove the instances whose ignore flag is set.

    mmdet's ``CocoDataset`` keeps ``iscrowd`` annotations and flags them
    (``ignore_flag`` -> ``gt_ignore_flags``); ml-cvnets drops them when it
    reads an image's annotations (``coco.py`` ``_get_annotation``), so they
    neither steer its random crop nor reach the assigner. Put this right
    after ``LoadAnnotations``. Boxes, labels, flags and masks stay aligned;
    results without ``gt_ignore_flags`` pass unchanged.

    Required Keys:

    - gt_ignore_flags (optional)
    - gt_bboxes, gt_bboxes_labels, gt_masks (optional)

    Modified Keys: the same.
    """

    def transform(self, results: dict) -> dict:
        """Drop the flagged instances of ``results`` (in place)."""
        flags = results.get('gt_ignore_flags')
        if flags is None:
            return results
        keep = ~np.asarray(flags, dtype=bool).reshape(-1)
        for key in _INSTANCE_KEYS + ('gt_masks', ):
            value = results.get(key)
            if value is not None and len(value) != len(keep):
                raise ValueError(
                    f'{describe_sample(results)}: {len(keep)} '
                    f'gt_ignore_flags but {len(value)} {key}')
        if keep.all():
            return results
        for key in _INSTANCE_KEYS:
            if results.get(key) is not None:
                results[key] = results[key][keep]
        if results.get('gt_masks') is not None:
            results['gt_masks'] = results['gt_masks'][np.flatnonzero(keep)]
        return results
