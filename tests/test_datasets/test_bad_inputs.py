"""Bad inputs (issue 11, point 3): each is trained and evaluated through
with a message naming the file / annotation, or stops with an error naming
it; never a NaN loss or a silently wrong input.

The checks themselves are tested first (fast), then the real configs run
with the real mmengine Runner on generated COCO-format and VOC-format data
that holds the bad inputs (slow-marked, a few seconds each).
"""
import glob
import logging
import os.path as osp
import re
import uuid

import cv2
import numpy as np
import pytest
from bad_inputs_helpers import (det_config, encode, first_line_with,
                                loss_history, run_log, seg_config, textured,
                                truncated_jpeg, write_coco, write_voc)
from conftest import REPO_ROOT, np_rng, parsed_config

from mmvit.datasets.validation import (BOX_CLIPPED, BOX_DEGENERATE,
                                       BOX_OUTSIDE, Reporter, check_files,
                                       coco_box_problem, invalid_labels,
                                       jpeg_is_complete)

pytest.importorskip('mmdet')
pytest.importorskip('mmseg')


class _Records(logging.Handler):

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self, level: int = logging.DEBUG) -> str:
        return '\n'.join(r.getMessage() for r in self.records
                         if r.levelno >= level)


@pytest.fixture
def logged():
    """What the checks log to mmengine's current logger in this test."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_instance(f'bad-inputs-{uuid.uuid4().hex}')
    handler = _Records()
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


# ----------------------------------------------------------------- checks
def _jpeg(rng, height=48, width=64, params=()) -> bytes:
    ok, data = cv2.imencode('.jpg', textured(rng, height, width), list(params))
    assert ok
    return data.tobytes()


def test_jpeg_is_complete_finds_every_cut():
    rng = np_rng(1)
    plain = _jpeg(rng)
    # progressive, with restart markers inside the scans
    progressive = _jpeg(
        rng,
        params=(cv2.IMWRITE_JPEG_PROGRESSIVE, 1, cv2.IMWRITE_JPEG_RST_INTERVAL,
                1))
    assert b'\xff\xd0' in progressive
    for data in (plain, progressive):
        assert jpeg_is_complete(data)
        assert jpeg_is_complete(data + b'\x00' * 7 + b'trailer')
        for cut in range(1, len(data) - 1, max(len(data) // 40, 1)):
            assert not jpeg_is_complete(data[:cut]), cut
        assert not jpeg_is_complete(data[:-1])
    assert not jpeg_is_complete(b'')
    assert not jpeg_is_complete(b'GIF89a....')


def test_jpeg_thumbnail_end_marker_is_not_the_images():
    rng = np_rng(2)
    main, thumb = _jpeg(rng, 64, 64), _jpeg(rng, 8, 8)
    payload = b'Exif\x00\x00' + thumb  # an APP1 segment holding a thumbnail
    app1 = b'\xff\xe1' + (len(payload) + 2).to_bytes(2, 'big') + payload
    with_thumb = main[:2] + app1 + main[2:]
    assert jpeg_is_complete(with_thumb)
    assert not jpeg_is_complete(with_thumb[:len(app1) + len(main) // 2])


@pytest.mark.parametrize(
    'bbox, area, expected, clipped',
    [
        ([10, 10, 20, 20], 400, None, [10, 10, 20, 20]),
        ([10, 10, 0, 20], 0, BOX_DEGENERATE, None),  # zero area
        ([10, 10, 0.5, 20], 10, BOX_DEGENERATE, None),  # under 1 px
        ([10, 10, 20, 20], 0, BOX_DEGENERATE, None),  # area <= 0
        ([200, 10, 20, 20], 400, BOX_OUTSIDE, None),
        ([-30, 10, 20, 20], 400, BOX_OUTSIDE, None),
        ([90, 50, 30, 30], 900, BOX_CLIPPED, [90, 50, 10, 30]),
        ([-5, -5, 20, 20], 400, BOX_CLIPPED, [0, 0, 15, 15]),
        ([0, 0, 100.4, 80], 8000, None, [0, 0, 100, 80]),  # within 1 px
        ([99.5, 10, 20, 20], 400, BOX_DEGENERATE, None),  # < 1 px inside
    ])
def test_coco_box_problem(bbox, area, expected, clipped):
    problem, box = coco_box_problem(bbox, area, 100, 80)
    assert problem == expected
    assert box == (None if clipped is None else pytest.approx(clipped))


@pytest.mark.parametrize(
    'bbox', [[1, 2, 3], [1, 2, 3, float('nan')], [1, 2, 3, 'x'], None])
def test_coco_box_problem_refuses_malformed_boxes(bbox):
    with pytest.raises(ValueError, match='4 finite numbers'):
        coco_box_problem(bbox, 1., 100, 80)


def test_reporter_once_per_file_and_capped(logged):
    report = Reporter(limit=2)
    for name in ('a.jpg', 'a.jpg', 'b.jpg', 'c.jpg', 'd.jpg'):
        report('grey', name, f'{name} is grey', level=logging.INFO)
    report('alpha', 'a.jpg', 'a.jpg has alpha')
    lines = logged.text().splitlines()
    assert lines == [
        'a.jpg is grey', 'b.jpg is grey',
        'further findings of kind "grey" are not shown (first 2 shown)',
        'a.jpg has alpha'
    ]


def test_check_files_lists_missing_and_empty(tmp_path):
    (tmp_path / 'ok.jpg').write_bytes(b'x')
    (tmp_path / 'empty.jpg').write_bytes(b'')
    files = [(str(tmp_path / n), f'image id {i}')
             for i, n in enumerate(('ok.jpg', 'gone.jpg', 'empty.jpg'))]
    with pytest.raises(FileNotFoundError, match=r'gone\.jpg \(image id 1\)'):
        check_files(files, 'ann.json')
    with pytest.raises(OSError, match=r'empty\.jpg \(image id 2\)'):
        check_files([files[0], files[2]], 'ann.json')
    check_files([files[0], ('s3://bucket/x.jpg', 'remote')], 'ann.json')


def test_invalid_labels():
    seg = np.array([[0, 1, 255], [3, 20, 21]], np.uint8)
    assert invalid_labels(seg, 21, 255).tolist() == [21]
    assert invalid_labels(seg, 2, 255).tolist() == [3, 20, 21]
    assert invalid_labels(seg, 22, 255).size == 0


# ------------------------------------------------------------ image loader
def _loader(**args):
    from mmvit.datasets.transforms import LoadImageFromFileChecked
    return LoadImageFromFileChecked(**args)


@pytest.mark.parametrize('name, content, error, message', [
    ('empty.jpg', b'', OSError, r'empty \(0 bytes\)'),
    ('cut.jpg', None, OSError, 'truncated JPEG'),
    ('text.jpg', b'this is not a jpeg', OSError, 'cannot decode'),
    ('gone.jpg', False, FileNotFoundError, 'not found'),
])
def test_loader_errors_name_the_file(tmp_path, name, content, error, message):
    path = tmp_path / name
    if content is None:
        content = truncated_jpeg(np_rng(3))
    if content is not False:
        path.write_bytes(content)
    results = dict(img_path=str(path), img_id=7)
    with pytest.raises(error, match=message) as info:
        _loader()(results)
    assert f'{path} (image id 7)' in str(info.value)


def test_loader_ignore_empty_skips_with_a_warning(tmp_path, logged):
    path = tmp_path / 'empty.jpg'
    path.write_bytes(b'')
    assert _loader(ignore_empty=True)(dict(img_path=str(path))) is None
    line = first_line_with(logged.text(logging.WARNING), str(path), 'skipped')
    assert line is not None


def test_loader_converts_grey_and_alpha_and_notes_sizes(tmp_path, logged):
    rng = np_rng(4)
    files = {
        'grey.jpg': encode(textured(rng, 40, 50, 1)[..., 0], '.jpg'),
        'rgba.png': encode(textured(rng, 40, 50, 4), '.png'),
        'tiny.jpg': encode(textured(rng, 16, 16), '.jpg'),
        'wide.jpg': encode(textured(rng, 40, 400), '.jpg'),
        'plain.jpg': encode(textured(rng, 40, 50), '.jpg'),
    }
    loader = _loader()
    shapes = {}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        shapes[name] = loader(dict(img_path=str(tmp_path / name)))['img'].shape
    assert shapes == {
        'grey.jpg': (40, 50, 3),
        'rgba.png': (40, 50, 3),
        'tiny.jpg': (16, 16, 3),
        'wide.jpg': (40, 400, 3),
        'plain.jpg': (40, 50, 3),
    }
    info = logged.text(logging.INFO)
    warning = logged.text(logging.WARNING)
    assert first_line_with(info, 'grey.jpg', 'greyscale', 'BGR')
    assert first_line_with(warning, 'rgba.png', 'alpha channel')
    assert first_line_with(info, 'tiny.jpg', '16x16', 'under 32 px')
    assert first_line_with(info, 'wide.jpg', '400x40', 'aspect ratio')
    assert 'plain.jpg' not in info
    # once per file
    loader(dict(img_path=str(tmp_path / 'grey.jpg')))
    assert logged.text().count('grey.jpg') == 1


# ---------------------------------------------------------- mask check
def _check_seg_map(**args):
    from mmvit.datasets.transforms import CheckSegMap
    return CheckSegMap(**args)


def _seg_results(mask, image_shape=None):
    return dict(
        img_path='JPEGImages/a.jpg',
        seg_map_path='SegmentationClass/a.png',
        ori_shape=image_shape or mask.shape[:2],
        gt_seg_map=mask)


def test_seg_map_of_another_size_is_an_error():
    mask = np.zeros((30, 40), np.uint8)
    with pytest.raises(ValueError, match='40x30 but the image is 50x30') as e:
        _check_seg_map(num_classes=21)(_seg_results(mask, (30, 50)))
    assert 'SegmentationClass/a.png' in str(e.value)
    assert 'JPEGImages/a.jpg' in str(e.value)


def test_colour_mask_is_an_error():
    with pytest.raises(ValueError, match=r'a\.png.*single-channel'):
        _check_seg_map(num_classes=21)(
            _seg_results(np.zeros((4, 4, 3), np.uint8), (4, 4)))


def test_seg_map_class_values_outside_the_classes(logged):
    mask = np.array([[0, 20, 255], [21, 30, 1]], np.uint8)
    with pytest.raises(ValueError, match=r'a\.png.*values 21, 30'):
        _check_seg_map(num_classes=21)(_seg_results(mask))
    out = _check_seg_map(
        num_classes=21, invalid_labels='ignore')(
            _seg_results(mask.copy()))
    assert out['gt_seg_map'].tolist() == [[0, 20, 255], [255, 255, 1]]
    assert first_line_with(
        logged.text(logging.WARNING), 'a.png', '21, 30', 'ignored')
    fine = _seg_results(np.array([[0, 20, 255]], np.uint8))
    assert _check_seg_map(num_classes=21)(fine) is fine
    assert _check_seg_map(num_classes=21)(dict(img_path='x.jpg')) == dict(
        img_path='x.jpg')  # inference: nothing to check


# ------------------------------------------------- COCO dataset (no runner)
def _coco_dataset(root, split='train', **args):
    from mmengine.registry import DefaultScope
    from mmdet.registry import DATASETS
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(
            dict(
                type='mmvit.CheckedCocoDataset',
                data_root=root,
                ann_file=f'annotations/{split}.json',
                data_prefix=dict(img=f'{split}/'),
                metainfo=dict(classes=('rectangle', 'ellipse', 'triangle')),
                pipeline=[],
                **args))


def test_coco_boxes_dropped_and_clipped_are_named(tmp_path, logged):
    root = str(tmp_path)
    data = encode(textured(np_rng(5), 80, 100), '.jpg')
    coco = write_coco(root, 'train', [
        dict(
            file_name='a.jpg',
            width=100,
            height=80,
            data=data,
            boxes=[[10, 10, 20, 20], [10, 10, 0, 20], [200, 10, 5, 5],
                   [90, 50, 30, 40]]),
        dict(file_name='b.jpg', width=100, height=80, data=data, boxes=[]),
    ])
    dataset = _coco_dataset(root, filter_cfg=dict(filter_empty_gt=True))
    assert len(dataset) == 1  # b.jpg has no annotations: left out
    boxes = [i['bbox'] for i in dataset.get_data_info(0)['instances']]
    assert boxes == [[10, 10, 30, 30], [90, 50, 100, 80]]  # x1 y1 x2 y2
    warning = logged.text(logging.WARNING)
    ids = [a['id'] for a in coco['annotations']]
    for ann_id, what in zip(ids[1:], ('dropped', 'outside', 'clipped')):
        line = first_line_with(warning, f'annotation id {ann_id} ', what)
        assert line is not None and 'a.jpg' in line and 'train.json' in line
    assert first_line_with(
        logged.text(logging.INFO), 'b.jpg (image id 2)', 'without annotations',
        'left out')


def test_coco_malformed_box_is_an_error(tmp_path):
    root = str(tmp_path)
    write_coco(root, 'train', [
        dict(
            file_name='a.jpg',
            width=100,
            height=80,
            data=encode(textured(np_rng(6), 80, 100), '.jpg'),
            boxes=[([10, 10, 20, float('nan')], 1.)]),
    ])
    with pytest.raises(
            ValueError, match=r'annotation id 1 \(image id 1, .*a\.jpg\)'):
        _coco_dataset(root)


# ------------------------------------------- detection with the real runner
def _det_images(rng):

    def jpg(h, w, channels=3):
        img = textured(rng, h, w, channels)
        return encode(img[..., 0] if channels == 1 else img, '.jpg')

    return [
        # a box sticking out (clipped), a box outside the image (dropped)
        dict(
            file_name='good.jpg',
            width=128,
            height=96,
            data=jpg(96, 128),
            boxes=[[10, 10, 40, 30], [100, 50, 60, 30], [200, 10, 10, 10]]),
        dict(
            file_name='good2.jpg',
            width=128,
            height=96,
            data=jpg(96, 128),
            boxes=[[30, 20, 50, 50]]),
        # a greyscale JPEG with a zero-area box (dropped)
        dict(
            file_name='grey.jpg',
            width=128,
            height=96,
            data=jpg(96, 128, 1),
            boxes=[[20, 20, 50, 40], [30, 30, 0, 20]]),
        dict(
            file_name='rgba.png',
            width=128,
            height=96,
            data=encode(textured(rng, 96, 128, 4), '.png'),
            boxes=[[5, 5, 60, 60]]),
        dict(
            file_name='tiny.jpg',
            width=16,
            height=16,
            data=jpg(16, 16),
            boxes=[[4, 4, 8, 8]]),
        dict(
            file_name='wide.jpg',
            width=400,
            height=40,
            data=jpg(40, 400),
            boxes=[[20, 5, 120, 30]]),
        # an image id with an empty annotation list
        dict(
            file_name='empty.jpg',
            width=64,
            height=64,
            data=jpg(64, 64),
            boxes=[]),
    ]


def _ann_id(coco, file_name, bbox):
    image_id = next(i['id'] for i in coco['images']
                    if i['file_name'] == file_name)
    return next(a['id'] for a in coco['annotations']
                if a['image_id'] == image_id and a['bbox'] == bbox)


@pytest.mark.slow
def test_det_trains_and_evaluates_through_handled_inputs(tmp_path):
    """SSDLite at 320 with the recipe's SSD augmentation (expand, min-IoU
    crop, resize) trains on the tiny, elongated, grey and RGBA images and
    the bad boxes, and CocoMetric evaluates them all; each is named in the
    log."""
    from mmengine.runner import Runner
    root = str(tmp_path / 'coco')
    coco = write_coco(root, 'train', _det_images(np_rng(10)))
    cfg = det_config(root, str(tmp_path / 'work'), 'train', 'train')
    runner = Runner.from_cfg(cfg)
    # 6 images with annotations, batches of 2: each image trains
    assert len(runner.train_dataloader) == 3
    runner.train()

    losses = loss_history(runner)
    assert len(losses) == 3 and np.isfinite(losses).all(), losses
    mean_ap = runner.message_hub.get_scalar('val/coco/bbox_mAP').current()
    assert 0. <= mean_ap <= 1.

    log = run_log(runner)
    ann_file = 'annotations/train.json'
    clipped = _ann_id(coco, 'good.jpg', [100, 50, 60, 30])
    outside = _ann_id(coco, 'good.jpg', [200, 10, 10, 10])
    zero = _ann_id(coco, 'grey.jpg', [30, 30, 0, 20])
    expected = [
        ('WARNING', ann_file, f'annotation id {clipped} ', 'good.jpg',
         'clipped'),
        ('WARNING', ann_file, f'annotation id {outside} ', 'good.jpg',
         'outside its image (dropped'),
        ('WARNING', ann_file, f'annotation id {zero} ', 'grey.jpg',
         'area <= 0 (dropped'),
        ('INFO', ann_file, 'empty.jpg (image id 7)', 'left out'),  # train
        ('INFO', ann_file, 'empty.jpg (image id 7)', 'used as images'),  # val
        ('WARNING', 'rgba.png (image id 4)', 'alpha channel is dropped'),
        ('INFO', 'grey.jpg (image id 3)', 'greyscale', 'BGR'),
        ('INFO', 'tiny.jpg (image id 5)', 'unusual image size 16x16'),
        ('INFO', 'wide.jpg (image id 6)', 'unusual image size 400x40',
         'aspect ratio'),
    ]
    for words in expected:
        assert first_line_with(log, *words), words


def _det_error_run(tmp_path, images):
    from mmengine.runner import Runner
    root = str(tmp_path / 'coco')
    write_coco(root, 'train', images)
    cfg = det_config(root, str(tmp_path / 'work'), 'train', 'train')
    runner = Runner.from_cfg(cfg)
    return runner, root


def _good_det_image(rng, name='good.jpg'):
    return dict(
        file_name=name,
        width=128,
        height=96,
        data=encode(textured(rng, 96, 128), '.jpg'),
        boxes=[[10, 10, 40, 30]])


@pytest.mark.slow
@pytest.mark.parametrize('bad, error, message', [
    (None, FileNotFoundError, r'do not exist.*bad\.jpg \(image id 2\)'),
    (b'', OSError, r'empty \(0 bytes\).*bad\.jpg \(image id 2\)'),
])
def test_det_missing_or_empty_image_file_stops_before_training(
        tmp_path, bad, error, message):
    rng = np_rng(11)
    runner, _ = _det_error_run(tmp_path, [
        _good_det_image(rng),
        dict(
            file_name='bad.jpg',
            width=128,
            height=96,
            data=bad,
            boxes=[[10, 10, 40, 30]]),
    ])
    with pytest.raises(error, match=message) as info:
        runner.train()
    assert 'annotations/train.json' in str(info.value)
    assert 'train/loss' not in runner.message_hub.log_scalars  # no step


@pytest.mark.slow
def test_det_truncated_jpeg_stops_naming_the_file(tmp_path):
    rng = np_rng(12)
    runner, root = _det_error_run(tmp_path, [
        _good_det_image(rng),
        dict(
            file_name='cut.jpg',
            width=128,
            height=96,
            data=truncated_jpeg(rng),
            boxes=[[10, 10, 40, 30]]),
    ])
    # both images are in the first (only) batch, whatever the shuffle
    with pytest.raises(OSError, match='truncated JPEG') as info:
        runner.train()
    assert f'{root}/train/cut.jpg (image id 2)' in str(info.value)


# ---------------------------------------- segmentation with the real runner
def _voc_item(rng, stem, height, width, grey=False, mask=None):
    img = textured(rng, height, width, 1 if grey else 3)
    if mask is None:
        mask = np.zeros((height, width), np.uint8)
        mask[height // 4:height * 3 // 4, width // 4:width * 3 // 4] = (
            rng.integers(1, 21))
        mask[0] = 255  # an ignored border row
    return dict(
        stem=stem,
        image=encode(img[..., 0] if grey else img, '.jpg'),
        mask=mask)


@pytest.mark.slow
def test_seg_trains_and_evaluates_through_handled_inputs(tmp_path):
    """DeepLabv3 with the VOC recipe's random resize + crop trains on the
    16x16, 1:10 and grey images and IoUMetric evaluates them; each is named
    in the log."""
    from mmengine.runner import Runner
    rng = np_rng(20)
    root = str(tmp_path / 'VOC2012')
    train = [
        _voc_item(rng, 'good', 96, 128),
        _voc_item(rng, 'grey', 96, 128, grey=True),
        _voc_item(rng, 'tiny', 16, 16),
        _voc_item(rng, 'wide', 40, 400),
    ]
    aug = [_voc_item(rng, 'aug1', 80, 100), _voc_item(rng, 'aug2', 100, 80)]
    write_voc(root, dict(train=train, aug=aug, val=train))
    runner = Runner.from_cfg(seg_config(root, str(tmp_path / 'work')))
    assert len(runner.train_dataloader) == 3  # each of the 6 images trains
    runner.train()

    losses = loss_history(runner)
    assert len(losses) == 3 and np.isfinite(losses).all(), losses
    miou = runner.message_hub.get_scalar('val/mIoU').current()
    assert 0. <= miou <= 100.
    log = run_log(runner)
    for words in [
        ('INFO', 'JPEGImages/grey.jpg', 'greyscale', 'BGR'),
        ('INFO', 'JPEGImages/tiny.jpg', 'unusual image size 16x16'),
        ('INFO', 'JPEGImages/wide.jpg', 'unusual image size 400x40',
         'aspect ratio'),
    ]:
        assert first_line_with(log, *words), words


def _seg_error_run(tmp_path, bad):
    """Train on ``bad`` and a good image: one batch, so ``bad`` is loaded
    in the first iteration whatever the shuffle."""
    from mmengine.runner import Runner
    rng = np_rng(21)
    root = str(tmp_path / 'VOC2012')
    good = _voc_item(rng, 'good', 96, 128)
    write_voc(root, dict(train=[bad], aug=[good], val=[good]))
    return Runner.from_cfg(seg_config(root, str(tmp_path / 'work'))), root


@pytest.mark.slow
def test_seg_mask_of_another_size_stops_naming_both_files(tmp_path):
    rng = np_rng(22)
    bad = _voc_item(rng, 'bad', 96, 128, mask=np.zeros((48, 64), np.uint8))
    runner, root = _seg_error_run(tmp_path, bad)
    with pytest.raises(
            ValueError, match='64x48 but the image is 128x96') as info:
        runner.train()
    assert f'{root}/SegmentationClass/bad.png' in str(info.value)
    assert f'{root}/JPEGImages/bad.jpg' in str(info.value)


@pytest.mark.slow
def test_seg_class_values_outside_the_classes_stop_naming_the_mask(tmp_path):
    rng = np_rng(23)
    mask = np.zeros((96, 128), np.uint8)
    mask[10:20, 10:20] = 21  # VOC has classes 0..20
    mask[30:40, 30:40] = 77
    mask[0] = 255  # the ignore index is fine
    runner, root = _seg_error_run(tmp_path,
                                  _voc_item(rng, 'bad', 96, 128, mask=mask))
    with pytest.raises(
            ValueError,
            match=re.escape(
                f'mask {root}/SegmentationClass/bad.png of image '
                f'{root}/JPEGImages/bad.jpg: class values 21, 77')):
        runner.train()


@pytest.mark.slow
def test_seg_empty_image_file_stops_naming_the_file(tmp_path):
    bad = _voc_item(np_rng(24), 'bad', 96, 128)
    bad['image'] = b''
    runner, root = _seg_error_run(tmp_path, bad)
    with pytest.raises(
            OSError,
            match=re.escape(
                f'image file is empty (0 bytes): {root}/JPEGImages/bad.jpg')):
        runner.train()


# ------------------------------------------------------------- the configs
def _pipelines(cfg):
    """(train pipeline, test pipeline) of a det / seg config."""
    train = _unwrapped(cfg.train_dataloader.dataset)
    train = train.datasets[0] if 'datasets' in train else train
    return train.pipeline, cfg.test_dataloader.dataset.pipeline


def _unwrapped(dataset):
    """The dataset inside wrappers (mmvit.MultiScaleDataset)."""
    while 'dataset' in dataset:
        dataset = dataset.dataset
    return dataset


@pytest.mark.parametrize(
    'config',
    sorted(
        glob.glob(osp.join(REPO_ROOT, 'configs', 'ssdlite_*.py')) +
        glob.glob(osp.join(REPO_ROOT, 'configs', 'deeplabv3*.py')) +
        glob.glob(osp.join(REPO_ROOT, 'configs', 'ssdlite_mobilevit*', '*.py')) +
        glob.glob(osp.join(REPO_ROOT, 'configs', 'deeplabv3_mobilevit*', '*.py'))),
    ids=osp.basename)
def test_every_det_and_seg_config_checks_its_data(config):
    """Training loads with mmvit's checked loader (and masks are checked);
    the test pipeline keeps mmcv's ``LoadImageFromFile`` by that name, which
    mmdet's DetInferencer and mmseg's MMSegInferencer look up."""
    cfg = parsed_config(config)
    train, test = _pipelines(cfg)
    assert train[0]['type'] == 'mmvit.LoadImageFromFileChecked'
    assert test[0]['type'] == 'LoadImageFromFile'
    if cfg.default_scope == 'mmdet':
        for loader in (cfg.train_dataloader, cfg.test_dataloader):
            assert _unwrapped(loader.dataset).type in (
                'mmvit.CheckedCocoDataset', 'mmvit.ShapesDetDataset')
    else:
        num_classes = cfg.model.decode_head.num_classes
        for pipeline in (train, test):
            types = [t['type'] for t in pipeline]
            check = types.index('mmvit.CheckSegMap')
            assert types[check - 1] == 'LoadAnnotations'
            assert pipeline[check]['num_classes'] == num_classes
