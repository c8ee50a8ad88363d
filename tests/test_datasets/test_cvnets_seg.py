"""ml-cvnets' segmentation recipe: the training transforms
(mmvit/datasets/transforms/cvnets_seg.py), the configs' pipelines and the
evaluation protocol (mmvit.ResizeModeEncoderDecoder)."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import np_rng, parsed_config, set_norm, torch_generator
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData

pytest.importorskip('mmseg')
from mmcv.transforms import Compose  # noqa: E402
from mmseg.models.segmentors import EncoderDecoder  # noqa: E402
from mmseg.registry import MODELS as MMSEG_MODELS  # noqa: E402
from mmseg.registry import TRANSFORMS as MMSEG_TRANSFORMS  # noqa: E402
from mmseg.structures import SegDataSample  # noqa: E402
from mmseg.utils import register_all_modules  # noqa: E402

from mmvit.datasets.transforms import (
    RandomCropScaleUp,  # noqa: E402
    RandomShortSideResize)
from mmvit.models.segmentors import ResizeModeEncoderDecoder  # noqa: E402

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO_ROOT, 'configs')
COCO_CONFIG = 'deeplabv3_mobilevit/deeplabv3_mobilevit-s-d16_4xb32-50e_voc12aug-coco-512x512.py'
MASK_VALUES = np.array([0, 7, 15, 255], dtype=np.uint8)


def sample(height, width, offset=0):
    """Results of mmseg's loaders: a random image and a mask drawn from
    MASK_VALUES."""
    rng = np_rng(offset)
    return dict(
        img=rng.integers(0, 256, (height, width, 3), dtype=np.uint8),
        gt_seg_map=rng.choice(MASK_VALUES, (height, width)),
        seg_fields=['gt_seg_map'],
        img_shape=(height, width),
        ori_shape=(height, width))


# ------------------------------------------------------------ transforms
@pytest.mark.parametrize('shape', [(300, 400), (500, 200), (64, 64)])
def test_short_side_resize_range_and_aspect(shape):
    np.random.seed(0)
    transform = RandomShortSideResize(min_size=256, max_size=1024)
    height, width = shape
    seen = set()
    for i in range(30):
        out = transform(sample(height, width, i))
        new_h, new_w = out['img'].shape[:2]
        short = min(new_h, new_w)
        assert 256 <= short <= 1024
        seen.add(short)
        # long side int(size * long / short), as cvnets
        if height <= width:
            assert (new_h, new_w) == (short, int(short * width / height))
        else:
            assert (new_h, new_w) == (int(short * height / width), short)
        assert out['gt_seg_map'].shape == (new_h, new_w)
        assert out['img_shape'] == (new_h, new_w)
        assert set(np.unique(out['gt_seg_map'])) <= set(MASK_VALUES)
    assert len(seen) > 20  # drawn, not fixed


def test_short_side_resize_bounds_are_included():
    np.random.seed(0)
    transform = RandomShortSideResize(min_size=10, max_size=11)
    sizes = {transform(sample(40, 60))['img'].shape[0] for _ in range(50)}
    assert sizes == {10, 11}


def test_crop_scales_a_small_image_up_and_never_pads():
    np.random.seed(0)
    # 100 x 200 -> x4 (the height binds) = 400 x 800 -> a 400 x 400 crop
    results = sample(100, 200)
    mask = results['gt_seg_map'].copy()
    out = RandomCropScaleUp(crop_size=400)(results)
    assert out['img'].shape == (400, 400, 3)
    assert out['img_shape'] == (400, 400)
    crop = out['gt_seg_map']
    assert crop.shape == (400, 400)
    assert set(np.unique(crop)) <= set(MASK_VALUES)  # nearest, no padding
    scaled = mask.repeat(4, axis=0).repeat(4, axis=1)  # nearest x4
    matches = [
        left for left in range(0, 401)
        if np.array_equal(scaled[:, left:left + 400], crop)
    ]
    assert matches, 'the crop is not a window of the nearest-scaled mask'


@pytest.mark.parametrize('shape', [(300, 700), (700, 300), (120, 90)])
def test_crop_output_is_always_the_crop_size(shape):
    np.random.seed(0)
    transform = RandomCropScaleUp(crop_size=(512, 512))
    out = transform(sample(*shape))
    assert out['img'].shape[:2] == (512, 512)
    assert out['gt_seg_map'].shape == (512, 512)
    assert set(np.unique(out['gt_seg_map'])) <= set(MASK_VALUES)


def test_crop_of_a_large_image_is_a_plain_window():
    np.random.seed(0)
    results = sample(600, 700)
    image = results['img'].copy()
    out = RandomCropScaleUp(crop_size=(512, 384))(results)
    offsets = [(top, left) for top in range(600 - 512 + 1)
               for left in range(700 - 384 + 1)
               if np.array_equal(out['img'][:2, :2], image[top:top + 2,
                                                           left:left + 2])]
    (top, left), = offsets
    np.testing.assert_array_equal(out['img'], image[top:top + 512,
                                                    left:left + 384])
    assert 'scale_factor' not in out  # not resized


@pytest.mark.parametrize('kwargs', [
    dict(min_size=0),
    dict(min_size=600, max_size=500),
    dict(max_size=1.5),
])
def test_short_side_resize_rejects_bad_sizes(kwargs):
    with pytest.raises(ValueError, match='size'):
        RandomShortSideResize(**kwargs)


@pytest.mark.parametrize('crop_size', [0, (512, ), (512, -1), '512', True])
def test_crop_rejects_bad_sizes(crop_size):
    with pytest.raises(ValueError, match='crop_size'):
        RandomCropScaleUp(crop_size=crop_size)


# ------------------------------------------------------------ pipelines
def write_pair(root, height, width):
    """An image and a mask file as mmseg's loaders read them."""
    rng = np_rng(3)
    img_path = osp.join(root, 'image.jpg')
    seg_path = osp.join(root, 'mask.png')
    cv2.imwrite(img_path,
                rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    cv2.imwrite(seg_path, rng.choice(MASK_VALUES, (height, width)))
    return dict(
        img_path=img_path,
        seg_map_path=seg_path,
        reduce_zero_label=False,
        seg_fields=[])


def build_pipeline(steps):
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmseg'):
        return Compose([MMSEG_TRANSFORMS.build(step) for step in steps])


def test_config_train_pipeline_gives_512_crops(tmp_path):
    cfg = parsed_config(osp.join(CONFIGS, COCO_CONFIG))
    datasets = cfg.train_dataloader.dataset.datasets
    assert [d.data_prefix.seg_map_path for d in datasets] == [
        'SegmentationClass', 'SegmentationClassAug', 'SegmentationClassCOCO'
    ]
    assert all(d.pipeline == cfg.cvnets_train_pipeline for d in datasets)
    pipeline = build_pipeline(cfg.cvnets_train_pipeline)
    np.random.seed(0)
    for _ in range(3):
        packed = pipeline(write_pair(str(tmp_path), 120, 90))
        assert packed['inputs'].shape == (3, 512, 512)
        labels = packed['data_samples'].gt_sem_seg.data
        assert labels.shape == (1, 512, 512)
        assert set(labels.unique().tolist()) <= set(MASK_VALUES.tolist())


def test_config_test_pipeline_ignores_the_aspect_ratio(tmp_path):
    cfg = parsed_config(osp.join(CONFIGS, COCO_CONFIG))
    assert cfg.test_dataloader.dataset.pipeline == cfg.cvnets_test_pipeline
    packed = build_pipeline(cfg.cvnets_test_pipeline)(
        write_pair(str(tmp_path), 200, 301))
    assert packed['inputs'].shape == (3, 512, 512)
    sample_ = packed['data_samples']
    assert tuple(sample_.ori_shape) == (200, 301)
    assert sample_.gt_sem_seg.data.shape == (1, 200, 301)  # not resized


# ------------------------------------------------------------ evaluation
def build_model(**overrides):
    register_all_modules(init_default_scope=False)
    cfg = parsed_config(osp.join(CONFIGS, COCO_CONFIG))
    cfg.model.update(overrides)
    set_norm(cfg.model, dict(type='BN', requires_grad=True))
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MMSEG_MODELS.build(cfg.model)
    model.init_weights()
    return model.eval()


@pytest.fixture(scope='module')
def model():
    return build_model()


def planted_logits(labels, num_classes=3):
    """Logits whose argmax is ``labels`` ([H, W]), as a [1, C, H, W]
    batch, with distinct values everywhere."""
    gen = torch_generator(5)
    logits = torch.rand(1, num_classes, *labels.shape, generator=gen)
    return logits + 2 * F.one_hot(labels, num_classes).permute(2, 0, 1)[None]


def meta_sample(**metainfo):
    return SegDataSample(metainfo=metainfo)


def test_config_uses_the_nearest_protocol(model):
    assert isinstance(model, ResizeModeEncoderDecoder)
    assert model.resize_mode == 'nearest'


def test_nearest_resize_of_planted_labels(model):
    labels = torch.tensor([[0, 1, 2, 0], [1, 2, 0, 1], [2, 0, 1, 2],
                           [0, 0, 2, 2]])
    logits = planted_logits(labels)
    (out, ) = model.postprocess_result(
        logits, [meta_sample(img_shape=(4, 4), ori_shape=(6, 10))])
    # PyTorch's nearest, by hand: source index floor(dst * in / out)
    rows = [i * 4 // 6 for i in range(6)]  # 0 0 1 2 2 3
    cols = [j * 4 // 10 for j in range(10)]  # 0 0 0 1 1 2 2 2 3 3
    expected = labels[rows][:, cols]
    assert torch.equal(out.pred_sem_seg.data[0], expected)
    assert out.seg_logits.data.shape == (3, 6, 10)
    # every output logit is one of the input's (nothing interpolated)
    assert torch.equal(out.seg_logits.data, logits[0][:, rows][:, :, cols])


def test_padding_and_flip_are_undone_before_the_resize(model):
    labels = torch.tensor([[0, 1, 2, 1], [2, 2, 0, 1], [1, 0, 0, 1],
                           [1, 1, 1, 1]])
    # right column and bottom row are padding; the input was flipped
    (out, ) = model.postprocess_result(
        planted_logits(labels), [
            meta_sample(
                img_shape=(3, 3),
                ori_shape=(6, 3),
                padding_size=[0, 1, 0, 1],
                flip=True,
                flip_direction='horizontal')
        ])
    kept = labels[:3, :3].flip(dims=(1, ))
    expected = kept[[0, 0, 1, 1, 2, 2]]
    assert torch.equal(out.pred_sem_seg.data[0], expected)


def test_bilinear_mode_is_mmsegs_postprocessing():
    model = build_model(resize_mode='bilinear')
    logits = planted_logits(
        torch.randint(0, 3, (8, 8), generator=torch_generator(7)))
    metas = dict(img_shape=(8, 8), ori_shape=(13, 21))
    (ours, ) = model.postprocess_result(logits, [meta_sample(**metas)])
    (mmseg, ) = EncoderDecoder.postprocess_result(model, logits,
                                                  [meta_sample(**metas)])
    assert torch.equal(ours.seg_logits.data, mmseg.seg_logits.data)
    assert torch.equal(ours.pred_sem_seg.data, mmseg.pred_sem_seg.data)


def test_rejects_unknown_resize_mode():
    with pytest.raises(ValueError, match='resize_mode'):
        build_model(resize_mode='bicubic')


def test_cvnets_protocol_end_to_end(model):
    """A 200 x 301 image resized to 512 x 512: the 32 x 32 logits go x16
    bilinearly to 512 x 512, then by nearest neighbour to 200 x 301."""
    heads = []
    model.decode_head.conv_seg.register_forward_hook(
        lambda module, args, out: heads.append(out))
    gen = torch_generator(9)
    image = torch.randint(
        0, 256, (3, 512, 512), dtype=torch.uint8, generator=gen)
    data = dict(
        inputs=[image],
        data_samples=[meta_sample(img_shape=(512, 512), ori_shape=(200, 301))])
    with torch.no_grad():
        (pred, ) = model.test_step(data)
    assert heads[0].shape == (1, 21, 32, 32)
    up = F.interpolate(
        heads[0], scale_factor=16, mode='bilinear', align_corners=False)
    expected = F.interpolate(up, size=(200, 301), mode='nearest').argmax(1)
    assert pred.pred_sem_seg.data.shape == (1, 200, 301)
    assert torch.equal(pred.pred_sem_seg.data, expected)
    # the labels are the 512 x 512 prediction's, sampled
    rows = (torch.arange(200) * 512 // 200)
    cols = (torch.arange(301) * 512 // 301)
    assert torch.equal(pred.pred_sem_seg.data[0],
                       up.argmax(1)[0][rows][:, cols])
    assert isinstance(pred.seg_logits, PixelData)
