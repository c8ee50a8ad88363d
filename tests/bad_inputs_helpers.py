"""Small COCO-format and VOC-format trees with chosen (bad) files, and the
real configs cut down to run a few iterations on them with the real runner
(used by tests/test_datasets/test_bad_inputs.py)."""
import glob
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
from conftest import REPO_ROOT, SEED, parsed_config
from mmengine.config import Config

DET_CONFIG = osp.join(REPO_ROOT, 'configs',
                      'ssdlite_mobilevit/ssdlite_mobilevit-xxs_4xb32-200e_coco.py')
SEG_CONFIG = osp.join(
    REPO_ROOT, 'configs',
    'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_4xb32-50e_voc12aug-512x512.py')


def textured(rng: np.random.Generator,
             height: int,
             width: int,
             channels: int = 3) -> np.ndarray:
    """A smooth random uint8 image (compresses like a photo, not noise)."""
    small = rng.integers(
        0, 256,
        (max(height // 8, 2), max(width // 8, 2), channels)).astype(np.float32)
    img = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    img = img.reshape(height, width, channels)
    return np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)


def encode(img: np.ndarray, ext: str) -> bytes:
    ok, data = cv2.imencode(ext, img)
    assert ok, ext
    return data.tobytes()


def truncated_jpeg(rng: np.random.Generator,
                   height: int = 96,
                   width: int = 128) -> bytes:
    """A JPEG cut short in its scan data (as by an interrupted copy)."""
    data = encode(textured(rng, height, width), '.jpg')
    return data[:len(data) * 2 // 3]


def write_coco(root: str, split: str, images: Sequence[dict]) -> str:
    """Write ``root/{split}/`` and ``root/annotations/{split}.json``.

    Each item of ``images`` has ``file_name``, ``width``, ``height``,
    ``data`` (the file's bytes, or ``None`` for a file that is not written)
    and ``boxes``: ``[x, y, w, h]`` lists, or ``(bbox, area)`` pairs for an
    area other than ``w * h``. Image ids count from 1 in list order, and
    annotation ids from 1 in box order; category 1 ('rectangle').

    Returns:
        dict: The COCO dict written.
    """
    os.makedirs(osp.join(root, split), exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    coco_images, annotations = [], []
    for image_id, item in enumerate(images, 1):
        if item['data'] is not None:
            with open(osp.join(root, split, item['file_name']), 'wb') as f:
                f.write(item['data'])
        coco_images.append(
            dict(
                id=image_id,
                file_name=item['file_name'],
                width=item['width'],
                height=item['height']))
        for box in item.get('boxes', []):
            bbox, area = box if isinstance(box, tuple) else (box,
                                                             box[2] * box[3])
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=image_id,
                    category_id=1,
                    bbox=list(bbox),
                    area=area,
                    iscrowd=0))
    coco = dict(
        images=coco_images,
        annotations=annotations,
        categories=[
            dict(id=1, name='rectangle'),
            dict(id=2, name='ellipse'),
            dict(id=3, name='triangle')
        ])
    with open(osp.join(root, 'annotations', f'{split}.json'), 'w') as f:
        json.dump(coco, f)
    return coco


def det_config(root: str,
               work_dir: str,
               train_split: str = 'train',
               val_split: str = 'val') -> Config:
    """configs/ssdlite_mobilevit/ssdlite_mobilevit-xxs_4xb32-200e_coco.py (its 320x320 SSD
    augmentation pipeline and mmvit's checks) on ``root`` written by
    :func:`write_coco`, the shapes' 3 classes: one epoch of batches of 2 from
    scratch, then mmdet's CocoMetric on ``val_split``."""
    cfg = parsed_config(DET_CONFIG)
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=SEED)
    cfg.model.backbone.init_cfg = None
    cfg.model.bbox_head.num_classes = 3
    metainfo = dict(classes=('rectangle', 'ellipse', 'triangle'))
    for loader, split in (('train_dataloader', train_split), ('val_dataloader',
                                                              val_split)):
        cfg[loader].update(
            batch_size=2, num_workers=0, persistent_workers=False)
        cfg[loader].dataset.update(
            data_root=root,
            ann_file=f'annotations/{split}.json',
            data_prefix=dict(img=f'{split}/'),
            metainfo=metainfo)
    cfg.train_dataloader.drop_last = True  # no batch of one (BN on 1x1)
    cfg.test_dataloader = cfg.val_dataloader
    cfg.val_evaluator.ann_file = osp.join(root, 'annotations',
                                          f'{val_split}.json')
    cfg.test_evaluator = cfg.val_evaluator
    _short_run(cfg)
    return cfg


def write_voc(root: str, splits: Dict[str, Sequence[dict]]) -> None:
    """Write a VOC 2012 tree (mmseg's voc12aug layout) under ``root``.

    ``splits`` maps ``'train'``, ``'aug'`` and ``'val'`` to items with
    ``stem``, ``image`` (the file's bytes, ``None`` for none) and ``mask``
    (a uint8 array, ``None`` for none); the ``aug`` masks go to
    ``SegmentationClassAug``, the others to ``SegmentationClass``.
    """
    sets = osp.join(root, 'ImageSets', 'Segmentation')
    for folder in ('JPEGImages', 'SegmentationClass', 'SegmentationClassAug'):
        os.makedirs(osp.join(root, folder), exist_ok=True)
    os.makedirs(sets, exist_ok=True)
    for split, items in splits.items():
        masks = 'SegmentationClassAug' if split == 'aug' else (
            'SegmentationClass')
        for item in items:
            if item['image'] is not None:
                with open(
                        osp.join(root, 'JPEGImages', item['stem'] + '.jpg'),
                        'wb') as f:
                    f.write(item['image'])
            if item['mask'] is not None:
                cv2.imwrite(
                    osp.join(root, masks, item['stem'] + '.png'), item['mask'])
        with open(osp.join(sets, split + '.txt'), 'w') as f:
            f.write(''.join(item['stem'] + '\n' for item in items))


def seg_config(root: str, work_dir: str, crop: int = 128) -> Config:
    """configs/deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_4xb32-50e_voc12aug-512x512.py (its
    VOC crop pipelines and mmvit's checks) on ``root`` written by
    :func:`write_voc`, at ``crop`` x ``crop`` crops (the random resize and the
    test resize scaled down alike): one epoch of batches of 2, then mmseg's
    IoUMetric."""
    cfg = parsed_config(SEG_CONFIG)
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=SEED)
    scale = (crop * 4, crop)  # the recipe's (2048, 512) for 512 crops
    for dataset in cfg.train_dataloader.dataset.datasets:
        dataset.data_root = root
        set_transform_args(dataset.pipeline, 'RandomResize', scale=scale)
        set_transform_args(
            dataset.pipeline, 'RandomCrop', crop_size=(crop, crop))
    cfg.model.data_preprocessor.size = (crop, crop)
    cfg.val_dataloader.dataset.data_root = root
    set_transform_args(
        cfg.val_dataloader.dataset.pipeline, 'Resize', scale=scale)
    cfg.train_dataloader.update(
        batch_size=2, num_workers=0, persistent_workers=False,
        drop_last=True)  # no batch of one (BN on ASPP's pooled 1x1)
    cfg.val_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.test_dataloader = cfg.val_dataloader
    _short_run(cfg)
    return cfg


def set_transform_args(pipeline: List[dict], type_name: str, **args) -> None:
    """Update the arguments of every ``type_name`` transform of
    ``pipeline``; assert there is one."""
    found = [t for t in pipeline if t['type'] == type_name]
    assert found, f'no {type_name} in {pipeline}'
    for transform in found:
        transform.update(args)


def _short_run(cfg: Config) -> None:
    """One epoch, validated at its end; no checkpoint; log every
    iteration."""
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=-1, save_last=False)
    cfg.default_hooks.logger.interval = 1


def run_log(runner) -> str:
    """The text of ``runner``'s log file."""
    files = glob.glob(osp.join(runner.log_dir, '*.log'))
    assert len(files) == 1, files
    with open(files[0]) as f:
        return f.read()


def loss_history(runner) -> np.ndarray:
    return np.asarray(runner.message_hub.get_scalar('train/loss').data[0])


def first_line_with(text: str, *words: str) -> Optional[str]:
    """The first line of ``text`` that holds all ``words``."""
    for line in text.splitlines():
        if all(word in line for word in words):
            return line
    return None
