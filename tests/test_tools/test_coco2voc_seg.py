"""tools/dataset_converters/coco2voc_seg.py: COCO instances -> VOC masks."""
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
from conftest import load_tool, np_rng
from PIL import Image
from pycocotools import mask as mask_utils

converter = load_tool('dataset_converters/coco2voc_seg.py')
# --nproc pickles the worker function by its module name
sys.modules[converter.__name__] = converter

PERSON, CAR, BACKPACK = 1, 3, 27  # COCO ids; backpack is not a VOC class
VOC_PERSON, VOC_CAR = 15, 7
H, W = 60, 90


def square(x0, y0, x1, y1):
    return [[x0, y0, x1, y0, x1, y1, x0, y1]]


def write_coco(root, images):
    """``images``: name -> list of (category id, segmentation); writes the
    jpgs and the json, returns the json path."""
    os.makedirs(osp.join(root, 'images'))
    coco = dict(
        images=[],
        annotations=[],
        categories=[
            dict(id=i, name=n) for i, n in ((PERSON, 'person'), (CAR, 'car'),
                                            (BACKPACK, 'backpack'))
        ])
    rng = np_rng(1)
    for image_id, (name, anns) in enumerate(images.items(), start=1):
        pixels = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
        cv2.imwrite(osp.join(root, 'images', name + '.jpg'), pixels)
        coco['images'].append(
            dict(id=image_id, file_name=name + '.jpg', height=H, width=W))
        for category, segmentation in anns:
            coco['annotations'].append(
                dict(
                    id=len(coco['annotations']) + 1,
                    image_id=image_id,
                    category_id=category,
                    segmentation=segmentation,
                    iscrowd=int(isinstance(segmentation, dict)),
                    area=1.,
                    bbox=[0, 0, 1, 1]))
    path = osp.join(root, 'instances.json')
    with open(path, 'w') as f:
        json.dump(coco, f)
    return path


def decoded(polygons):
    return mask_utils.decode(
        mask_utils.merge(mask_utils.frPyObjects(polygons, H, W))).astype(bool)


def crowd_rle(x0, y0, x1, y1):
    """An uncompressed RLE (as COCO's crowd annotations) of a box."""
    box = np.zeros((H, W), dtype=np.uint8)
    box[y0:y1, x0:x1] = 1
    counts, value, run = [], 0, 0
    for pixel in box.flatten(order='F'):  # column-major, as COCO
        if pixel != value:
            counts.append(run)
            value, run = pixel, 0
        run += 1
    counts.append(run)
    return dict(counts=counts, size=[H, W])


PERSON_SQUARE = square(10, 10, 40, 40)
CAR_OVERLAP = square(30, 20, 70, 50)  # overlaps the person
BACKPACK_SQUARE = square(50, 5, 85, 30)


@pytest.fixture
def coco(tmp_path):
    ann_file = write_coco(
        str(tmp_path / 'coco'), {
            'a_person_car': [(PERSON, PERSON_SQUARE), (CAR, CAR_OVERLAP)],
            'b_backpack_only': [(BACKPACK, BACKPACK_SQUARE)],
            'c_crowd_car': [(BACKPACK, BACKPACK_SQUARE),
                            (CAR, crowd_rle(5, 35, 45, H))],
            'd_no_annotations': [],
        })
    return ann_file, str(tmp_path / 'coco' / 'images'), str(tmp_path / 'out')


def read_mask(out, name):
    png = Image.open(osp.join(out, 'SegmentationClassCOCO', name + '.png'))
    return png, np.array(png)


def test_writes_voc_masks_for_images_with_voc_classes(coco):
    ann_file, img_dir, out = coco
    assert converter.main([ann_file, img_dir, out]) == 2
    split = osp.join(out, 'ImageSets', 'Segmentation', 'train_coco.txt')
    with open(split) as f:
        assert f.read().split() == ['a_person_car', 'c_crowd_car']
    assert sorted(os.listdir(osp.join(out, 'SegmentationClassCOCO'))) == [
        'a_person_car.png', 'c_crowd_car.png'
    ]
    for name in ('a_person_car', 'c_crowd_car'):  # images linked, not copied
        link = osp.join(out, 'JPEGImages', name + '.jpg')
        assert osp.islink(link)
        assert osp.samefile(link, osp.join(img_dir, name + '.jpg'))

    png, labels = read_mask(out, 'a_person_car')
    assert png.mode == 'P' and labels.shape == (H, W)
    palette = png.getpalette()[:3 * 256]
    colour = {i: tuple(palette[3 * i:3 * i + 3]) for i in range(256)}
    # VOC's colour map
    assert colour[0] == (0, 0, 0) and colour[1] == (128, 0, 0)
    assert colour[VOC_CAR] == (128, 128, 128)
    assert colour[VOC_PERSON] == (192, 128, 128)
    assert colour[255] == (224, 224, 192)
    assert set(np.unique(labels)) == {0, VOC_CAR, VOC_PERSON, 255}

    person, car = decoded(PERSON_SQUARE), decoded(CAR_OVERLAP)
    # interiors: the first instance painted keeps a shared pixel
    assert labels[25, 20] == VOC_PERSON
    assert labels[33, 36] == VOC_PERSON and person[33, 36] and car[33, 36]
    assert labels[35, 60] == VOC_CAR
    assert labels[2, 2] == 0
    # a 5 px void band on the outline: 3 px inside, 2 px outside
    row = 25
    left = int(np.flatnonzero(person[row])[0])
    assert list(labels[row,
                       left - 3:left + 4]) == [0] + [255] * 5 + [VOC_PERSON]
    top = int(np.flatnonzero(person[:, 20])[0])
    assert list(labels[top - 3:top + 4, 20]) == [0] + [255] * 5 + [VOC_PERSON]
    # the band of the second instance crosses the first one's interior
    car_left = int(np.flatnonzero(car[row + 10])[0])
    assert labels[row + 10, car_left] == 255

    # c: the non-VOC backpack is background, without a band; the crowd
    # RLE is painted; it touches the image frame, which gets no band
    _, labels = read_mask(out, 'c_crowd_car')
    assert set(np.unique(labels)) == {0, VOC_CAR, 255}
    assert np.all(labels[5:31, 50:86] == 0)
    assert labels[H - 1, 25] == VOC_CAR  # bottom edge of the image
    assert labels[45, 25] == VOC_CAR and labels[35, 25] == 255


def test_border_width_zero_gives_cvnets_masks(coco):
    ann_file, img_dir, out = coco
    converter.main([ann_file, img_dir, out, '--border-width', '0'])
    _, labels = read_mask(out, 'a_person_car')
    person, car = decoded(PERSON_SQUARE), decoded(CAR_OVERLAP)
    expected = np.zeros((H, W), dtype=np.uint8)
    expected[car] = VOC_CAR
    expected[person] = VOC_PERSON  # first painted wins
    np.testing.assert_array_equal(labels, expected)


def test_min_pixels_and_split_name(coco):
    ann_file, img_dir, out = coco
    # the crowd car covers 40 x 25 px less its band; the person + car more
    count = converter.main([
        ann_file, img_dir, out, '--min-pixels', '1000', '--split', 'coco',
        '--no-link-images', '--nproc', '2'
    ])
    assert count == 1
    with open(osp.join(out, 'ImageSets', 'Segmentation', 'coco.txt')) as f:
        assert f.read().split() == ['a_person_car']
    assert not osp.exists(osp.join(out, 'JPEGImages'))


def test_output_reads_as_an_mmseg_voc_dataset(coco):
    pytest.importorskip('mmseg')
    from mmseg.datasets import PascalVOCDataset
    ann_file, img_dir, out = coco
    converter.main([ann_file, img_dir, out])
    dataset = PascalVOCDataset(
        data_root=out,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClassCOCO'),
        ann_file='ImageSets/Segmentation/train_coco.txt',
        pipeline=[],
        lazy_init=False)
    assert len(dataset) == 2
    for i in range(2):
        info = dataset.get_data_info(i)
        assert osp.isfile(info['img_path']) and osp.isfile(
            info['seg_map_path'])


def test_clear_errors(coco, tmp_path):
    ann_file, img_dir, out = coco
    with pytest.raises(FileNotFoundError, match='annotation file not found'):
        converter.main([str(tmp_path / 'missing.json'), img_dir, out])
    with pytest.raises(FileNotFoundError, match='image folder not found'):
        converter.main([ann_file, str(tmp_path / 'no_images'), out])
    os.remove(osp.join(img_dir, 'c_crowd_car.jpg'))
    with pytest.raises(FileNotFoundError, match='c_crowd_car.jpg'):
        converter.main([ann_file, img_dir, out])
    not_coco = tmp_path / 'not_coco.json'
    not_coco.write_text('{"images": []}')
    with pytest.raises(ValueError, match='not a COCO instances file'):
        converter.main([str(not_coco), img_dir, out])
    with pytest.raises(SystemExit):
        converter.main([ann_file, img_dir, out, '--border-width', '-1'])
