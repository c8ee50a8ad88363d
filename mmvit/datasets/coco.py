"""mmdet's COCO dataset with its annotation file checked (needs mmdet)."""
import logging
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Union

from mmdet.datasets import CocoDataset
from mmengine.logging import print_log

from mmvit.registry import DATASETS
from .validation import (BOX_CLIPPED, BOX_DEGENERATE, BOX_OUTSIDE,
                         check_files, coco_box_problem, listing)

_BOX_MESSAGES = {
    BOX_DEGENERATE: ('with a side under 1 px inside its image or an area <= 0'
                     ' (dropped, as mmdet does)'),
    BOX_OUTSIDE: ('outside its image (dropped, as mmdet does)'),
    BOX_CLIPPED: ('sticking out of its image (clipped to the image)'),
}


def _count(items: list, singular: str, plural: str) -> str:
    return f'{len(items)} {singular if len(items) == 1 else plural}'


@DATASETS.register_module()
class CheckedCocoDataset(CocoDataset):
    """mmdet's :class:`CocoDataset` that checks its annotation file when it
    loads it, before any training or evaluation, and names each image file
    and annotation that it cannot use as it is.

    What mmdet's ``CocoDataset`` does, and what this one does:

    - an image whose file is missing or empty (0 bytes): nothing until the
      pipeline loads it -> ``FileNotFoundError`` / ``OSError`` listing the
      files with their image ids (``check_files=False`` skips this; it only
      looks at local paths);
    - a box without overlap with its image, with a side under one pixel
      or with ``area <= 0``: dropped silently -> dropped, with a warning
      listing the annotation ids, image ids and files;
    - a box sticking out of its image (by more than a pixel): kept as it is
      (mmdet's transforms clip it later) -> clipped to the image here, with
      a warning (a box with less than a pixel inside is dropped);
    - a box that is not 4 finite numbers: a ``ValueError`` without a name
      or a NaN loss -> ``ValueError`` naming the annotation;
    - an image without annotations: used (left out of training with
      ``filter_cfg.filter_empty_gt=True``) -> the same, with a note
      (``INFO``) listing the files.

    Boxes marked ``ignore`` or of categories outside the dataset's classes
    are skipped as mmdet skips them, without a word. ``CocoMetric`` reads
    its own copy of the annotation file: a warned box still counts there.

    Args:
        check_files (bool): Check that every image file exists and is not
            empty. Defaults to True.
        **kwargs: :class:`CocoDataset` arguments.
    """

    def __init__(self, *args, check_files: bool = True, **kwargs) -> None:
        self.check_files = check_files
        self._findings: Dict[str, List[str]] = defaultdict(list)
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        self._findings = defaultdict(list)
        data_list = super().load_data_list()
        self._report(data_list)
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> Union[dict, List[dict]]:
        img_info = raw_data_info['raw_img_info']
        img_path = osp.join(self.data_prefix['img'], img_info['file_name'])
        image = f'image id {img_info["img_id"]}, {img_path}'
        anns = raw_data_info['raw_ann_info']
        if not anns:
            self._findings['empty'].append(
                f'{img_path} (image id {img_info["img_id"]})')
        checked = []
        for ann in anns:
            if (ann.get('ignore', False)
                    or ann.get('category_id') not in self.cat_ids):
                checked.append(ann)  # skipped by mmdet
                continue
            try:
                if 'area' not in ann:
                    raise ValueError('no "area"')
                problem, box = coco_box_problem(
                    ann.get('bbox'), ann['area'], img_info['width'],
                    img_info['height'])
            except ValueError as error:
                raise ValueError(f'{self.ann_file}: annotation id '
                                 f'{ann.get("id")} ({image}): {error}')
            if problem is not None:
                self._findings[problem].append(
                    f'annotation id {ann.get("id")} ({image}, bbox '
                    f'{ann["bbox"]})')
            if box is not None and box != ann['bbox']:
                ann = dict(ann, bbox=box)
            checked.append(ann)
        return super().parse_data_info(
            dict(raw_data_info, raw_ann_info=checked))

    def _report(self, data_list: List[dict]) -> None:
        """Raise for unusable image files; log the findings of parsing."""
        if self.check_files and self.backend_args is None:
            check_files([(info['img_path'], f'image id {info["img_id"]}')
                         for info in data_list], self.ann_file)
        for problem, message in _BOX_MESSAGES.items():
            found = self._findings.get(problem)
            if found:
                print_log(
                    f'{self.ann_file}: {_count(found, "box", "boxes")} {message}: '
                    f'{listing(found)}',
                    logger='current',
                    level=logging.WARNING)
        empty = self._findings.get('empty')
        if empty:
            filtered = (not self.test_mode and self.filter_cfg is not None
                        and self.filter_cfg.get('filter_empty_gt', False))
            use = ('left out (filter_cfg.filter_empty_gt=True)'
                   if filtered else 'used as images without objects')
            print_log(
                f'{self.ann_file}: {_count(empty, "image", "images")} without '
                f'annotations ({use}): {listing(empty)}',
                logger='current',
                level=logging.INFO)
        self._findings = defaultdict(list)
