"""The generated shapes dataset and how bad detection input is handled."""
import filecmp
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from conftest import SEED

from mmvit.datasets.shapes import (SHAPE_CLASSES, ensure_shapes_dataset,
                                   generate_shapes_dataset)


@pytest.fixture(scope='module')
def shapes_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('data') / 'shapes')
    generate_shapes_dataset(root, num_train=40, num_val=12, seed=SEED + 3)
    return root


def _load(root, split):
    with open(osp.join(root, 'annotations', f'instances_{split}.json')) as f:
        return json.load(f)


def test_layout(shapes_root):
    for split, num in (('train', 40), ('val', 12)):
        stems = open(osp.join(shapes_root, 'splits',
                              f'{split}.txt')).read().split()
        assert len(stems) == num
        coco = _load(shapes_root, split)
        assert [c['id'] for c in coco['categories']] == [1, 2, 3]
        assert tuple(c['name'] for c in coco['categories']) == SHAPE_CLASSES
        assert [osp.splitext(i['file_name'])[0]
                for i in coco['images']] == stems
        for info in coco['images']:
            stem = osp.splitext(info['file_name'])[0]
            img = cv2.imread(osp.join(shapes_root, split, info['file_name']))
            mask = cv2.imread(
                osp.join(shapes_root, 'masks', split, stem + '.png'),
                cv2.IMREAD_UNCHANGED)
            assert img.shape == (info['height'], info['width'], 3)
            assert mask.dtype == np.uint8 and mask.shape == img.shape[:2]
            assert set(np.unique(mask)) <= {0, 1, 2, 3, 255}


def test_content_variety(shapes_root):
    coco = _load(shapes_root, 'train')
    anns = coco['annotations']
    with_objects = {a['image_id'] for a in anns}
    assert len(with_objects) < len(coco['images'])  # some empty images
    assert any(a['iscrowd'] for a in anns)
    assert {a['category_id'] for a in anns} == {1, 2, 3}
    assert len({(i['height'], i['width']) for i in coco['images']}) > 10
    sizes = {i['id']: (i['width'], i['height']) for i in coco['images']}
    for ann in anns:
        x, y, w, h = ann['bbox']
        width, height = sizes[ann['image_id']]
        assert w > 0 and h > 0 and ann['area'] > 0
        assert 0 <= x and x + w <= width and 0 <= y and y + h <= height


def test_masks_agree_with_boxes(shapes_root):
    coco = _load(shapes_root, 'val')
    for ann in coco['annotations']:
        if ann['iscrowd']:
            continue
        info = coco['images'][ann['image_id'] - 1]
        stem = osp.splitext(info['file_name'])[0]
        mask = cv2.imread(
            osp.join(shapes_root, 'masks', 'val', stem + '.png'),
            cv2.IMREAD_UNCHANGED)
        x, y, w, h = (int(round(v)) for v in ann['bbox'])
        inside = mask[y:y + h, x:x + w]
        assert (inside == ann['category_id']).any()


def test_crowd_rle_decodes_to_area(shapes_root):
    mask_utils = pytest.importorskip('pycocotools.mask')
    coco = _load(shapes_root, 'train')
    crowd = [a for a in coco['annotations'] if a['iscrowd']]
    for ann in crowd:
        seg = ann['segmentation']
        rle = mask_utils.frPyObjects(seg, *seg['size'])
        assert mask_utils.area(rle) == ann['area']
        assert mask_utils.toBbox(rle).tolist() == pytest.approx(ann['bbox'])


def test_deterministic(tmp_path):
    a, b, c = (str(tmp_path / n) for n in 'abc')
    generate_shapes_dataset(a, num_train=5, num_val=2, seed=SEED + 7)
    generate_shapes_dataset(b, num_train=5, num_val=2, seed=SEED + 7)
    generate_shapes_dataset(c, num_train=5, num_val=2, seed=SEED + 8)
    ann = 'annotations/instances_train.json'
    assert filecmp.cmp(osp.join(a, ann), osp.join(b, ann), shallow=False)
    assert filecmp.cmp(
        osp.join(a, 'train/000004.jpg'),
        osp.join(b, 'train/000004.jpg'),
        shallow=False)
    assert not filecmp.cmp(osp.join(a, ann), osp.join(c, ann), shallow=False)


def test_ensure_generates_once(tmp_path):
    root = str(tmp_path / 'shapes')
    assert ensure_shapes_dataset(root, num_train=3, num_val=2)
    assert not ensure_shapes_dataset(root, num_train=3, num_val=2)
    assert sorted(os.listdir(tmp_path)) == ['shapes']  # no temp dirs left
    other = tmp_path / 'other'
    other.mkdir()
    (other / 'notes.txt').write_text('x')
    with pytest.raises(FileExistsError, match='instances_val.json'):
        ensure_shapes_dataset(str(other))


def test_cli(tmp_path, repo_root):
    import subprocess
    import sys
    root = str(tmp_path / 'cli')
    subprocess.run([
        sys.executable,
        osp.join(repo_root, 'tools/dataset_converters/generate_shapes.py'),
        root, '--num-train', '2', '--num-val', '1', '--seed', '1'
    ],
                   check=True,
                   env=dict(os.environ, PYTHONPATH=repo_root))
    assert len(_load(root, 'train')['images']) == 2


# ------------------------------------------------ detection dataset + errors
mmdet = pytest.importorskip('mmdet')


def _det_dataset(root, split='train', **kwargs):
    from mmengine.registry import DATASETS, DefaultScope
    from mmdet.utils import register_all_modules

    import mmvit.datasets.shapes.detection  # noqa: F401 (registers it)
    register_all_modules(init_default_scope=False)
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='Resize', scale=(320, 320), keep_ratio=False),
        dict(type='PackDetInputs'),
    ]
    cfg = dict(
        type='mmvit.ShapesDetDataset',
        data_root=root,
        ann_file=f'annotations/instances_{split}.json',
        data_prefix=dict(img=f'{split}/'),
        pipeline=pipeline,
        **kwargs)
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(cfg)


def test_det_dataset_generates_and_loads(tmp_path):
    root = str(tmp_path / 'auto')
    dataset = _det_dataset(
        root, num_train=6, num_val=2, filter_cfg=dict(filter_empty_gt=True))
    assert osp.exists(osp.join(root, 'masks', 'val'))
    assert dataset.metainfo['classes'] == SHAPE_CLASSES
    item = dataset[0]
    assert tuple(item['inputs'].shape) == (3, 320, 320)
    gt = item['data_samples'].gt_instances
    assert len(gt) > 0 and gt.labels.max() < 3


def test_det_dataset_without_generation_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='instances_train.json'):
        _det_dataset(str(tmp_path / 'missing'), generate=False)


def _copy_with(shapes_root, tmp_path, edit):
    """A copy of the val split whose annotation file is changed by
    ``edit(coco)``."""
    import shutil
    root = str(tmp_path / 'copy')
    shutil.copytree(shapes_root, root)
    coco = _load(root, 'val')
    edit(coco, root)
    with open(osp.join(root, 'annotations', 'instances_val.json'), 'w') as f:
        json.dump(coco, f)
    return root


def test_missing_image_error_names_the_file(shapes_root, tmp_path):

    def edit(coco, root):
        coco['images'][0]['file_name'] = 'not_there.jpg'

    # named when the dataset is built, before any training
    with pytest.raises(FileNotFoundError, match='not_there.jpg'):
        _det_dataset(
            _copy_with(shapes_root, tmp_path, edit), 'val', test_mode=True)


def test_unreadable_image_error_names_the_file(shapes_root, tmp_path):

    def edit(coco, root):
        with open(osp.join(root, 'val', coco['images'][0]['file_name']),
                  'wb') as f:
            f.write(b'this is not a jpeg')

    dataset = _det_dataset(
        _copy_with(shapes_root, tmp_path, edit), 'val', test_mode=True)
    with pytest.raises(Exception, match='000000.jpg'):
        dataset[0]


def test_zero_area_boxes_are_dropped_as_mmdet_does(shapes_root, tmp_path):
    state = {}

    def edit(coco, root):
        ann = next(a for a in coco['annotations'] if not a['iscrowd'])
        ann['bbox'][2] = 0.
        ann['area'] = 0.
        state['img_id'] = ann['image_id']
        state['num'] = sum(1 for a in coco['annotations']
                           if a['image_id'] == ann['image_id'])

    dataset = _det_dataset(
        _copy_with(shapes_root, tmp_path, edit), 'val', test_mode=True)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    info = next(d for d in infos if d['img_id'] == state['img_id'])
    assert len(info['instances']) == state['num'] - 1
