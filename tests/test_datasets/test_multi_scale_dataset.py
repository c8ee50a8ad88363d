"""MultiScaleDataset + SampledSizeTransform: the sampled size reaches the
pipeline, also in dataloader workers."""
import os.path as osp
import pickle
import sys

import numpy as np
import pytest
from conftest import parsed_config
from mmengine.dataset import DefaultSampler, pseudo_collate
from mmengine.registry import DefaultScope
from torch.utils.data import DataLoader

from mmvit.datasets.multiscale import (MultiScaleDataset,
                                      MultiScaleVariableBatchSampler,
                                      SampledSizeTransform)
from mmvit.registry import DATASETS, TRANSFORMS

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(__file__)), 'test_tools'))
from multiscale_train_helpers import make_image_folder  # noqa: E402


@pytest.fixture(scope='module')
def image_folder(tmp_path_factory):
    return make_image_folder(
        str(tmp_path_factory.mktemp('folder')), num_classes=2, per_class=8)


@pytest.fixture
def mmpretrain_scope():
    from mmpretrain.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


def crop_pipeline(scale=(48, 80)):
    return [
        dict(type='LoadImageFromFile'),
        dict(
            type='mmvit.SampledSizeTransform',
            transform=dict(type='RandomResizedCrop', scale=scale),
            size_arg='scale',
            size_order='hw'),
        dict(type='PackInputs'),
    ]


def build_dataset(image_folder, pipeline=None, inner=None):
    inner = inner or dict(
        type='CustomDataset',
        data_root=image_folder,
        pipeline=pipeline or crop_pipeline())
    return DATASETS.build(dict(type='mmvit.MultiScaleDataset', dataset=inner))


@pytest.mark.parametrize('num_workers', [0, 2])
def test_dataloader_batches_have_the_planned_non_square_sizes(
        image_folder, mmpretrain_scope, num_workers):
    dataset = build_dataset(image_folder)
    batch_sampler = MultiScaleVariableBatchSampler(
        DefaultSampler(dataset, seed=3),
        batch_size=4,
        base_size=(64, 96),
        min_size=(32, 64),
        max_size=(96, 128),
        num_scales=3)
    assert all(r.height != r.width for r in batch_sampler.scale_table)
    loader = DataLoader(
        dataset,
        batch_sampler=batch_sampler,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        collate_fn=pseudo_collate)
    for epoch in range(2):  # the second epoch reuses persistent workers
        batch_sampler.sampler.set_epoch(epoch)
        batches = list(loader)
        plan = batch_sampler.plan(epoch)
        assert len(batches) == len(loader) == len(plan)
        seen = set()
        for batch, row in zip(batches, plan):
            assert len(batch['inputs']) == row.batch_size
            assert {tuple(x.shape)
                    for x in batch['inputs']} == {(3, row.height, row.width)}
            seen |= {s.sample_idx for s in batch['data_samples']}
        assert seen == set(range(len(dataset)))


def test_plain_index_uses_the_configured_size(image_folder, mmpretrain_scope):
    dataset = build_dataset(image_folder)
    assert dataset[0]['inputs'].shape == (3, 48, 80)
    assert dataset[(96, 64, 0)]['inputs'].shape == (3, 96, 64)
    # the size applies to one call only
    assert dataset[1]['inputs'].shape == (3, 48, 80)


def test_wrapper_forwards_dataset_interface(image_folder, mmpretrain_scope):
    dataset = build_dataset(image_folder)
    assert len(dataset) == 16
    assert dataset.metainfo['classes'] == ('class_0', 'class_1')
    assert dataset.get_data_info(3)['gt_label'] == 0
    assert dataset.CLASSES == dataset.dataset.CLASSES  # forwarded attribute
    assert dataset.accepts_sized_indices


def test_wrapper_survives_pickling_for_spawned_workers(image_folder,
                                                       mmpretrain_scope):
    dataset = pickle.loads(pickle.dumps(build_dataset(image_folder)))
    assert dataset[(32, 64, 2)]['inputs'].shape == (3, 32, 64)
    assert dataset[2]['inputs'].shape == (3, 48, 80)


def test_nested_dataset_wrappers_get_the_size(image_folder, mmpretrain_scope):
    inner = dict(
        type='RepeatDataset',
        times=2,
        dataset=dict(
            type='CustomDataset',
            data_root=image_folder,
            pipeline=crop_pipeline()))
    dataset = build_dataset(image_folder, inner=inner)
    assert len(dataset) == 32
    assert dataset[(64, 32, 20)]['inputs'].shape == (3, 64, 32)


def test_pipeline_without_sampled_size_transform_is_refused(
        image_folder, mmpretrain_scope):
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='RandomResizedCrop', scale=64),
        dict(type='PackInputs'),
    ]
    with pytest.raises(ValueError, match='no mmvit.SampledSizeTransform'):
        build_dataset(image_folder, pipeline=pipeline)


def test_bad_item_is_refused(image_folder, mmpretrain_scope):
    dataset = build_dataset(image_folder)
    with pytest.raises(ValueError, match=r'\(height, width, index\)'):
        dataset[(1, 2)]


@pytest.mark.parametrize('kwargs, error, message', [
    (dict(transform='RandomResizedCrop'), TypeError, 'config dict'),
    (dict(size_arg='crop_size'), ValueError, "size argument 'crop_size'"),
    (dict(size_order='yx'), ValueError, 'size_order must be one of'),
])
def test_sampled_size_transform_checks_its_arguments(mmpretrain_scope, kwargs,
                                                     error, message):
    args = dict(
        transform=dict(type='RandomResizedCrop', scale=64),
        size_arg='scale',
        size_order='hw')
    args.update(kwargs)
    with pytest.raises(error, match=message):
        SampledSizeTransform(**args)


def _image_results(h=120, w=200, with_seg=False):
    rng = np.random.default_rng(0)
    results = dict(
        img=rng.integers(0, 255, (h, w, 3), dtype=np.uint8),
        img_shape=(h, w),
        ori_shape=(h, w))
    if with_seg:
        results['gt_seg_map'] = rng.integers(0, 5, (h, w), dtype=np.uint8)
        results['seg_fields'] = ['gt_seg_map']
    return results


def test_detection_resize_gets_width_height_order():
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmdet'):
        transform = TRANSFORMS.build(
            dict(
                type='mmvit.SampledSizeTransform',
                transform=dict(
                    type='Resize', scale=(320, 320), keep_ratio=False),
                size_arg='scale',
                size_order='wh'))
    out = transform(dict(_image_results(), sampled_size=(96, 160)))
    assert out['img'].shape[:2] == (96, 160)
    assert transform(_image_results())['img'].shape[:2] == (320, 320)


def test_segmentation_crop_gets_height_width_order():
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmseg'):
        transform = TRANSFORMS.build(
            dict(
                type='mmvit.SampledSizeTransform',
                transform=dict(type='RandomCrop', crop_size=(64, 64)),
                size_arg='crop_size',
                size_order='hw'))
    out = transform(dict(_image_results(with_seg=True), sampled_size=(96, 32)))
    assert out['img'].shape[:2] == (96, 32)
    assert out['gt_seg_map'].shape == (96, 32)


# (size, batch per GPU) of ml-cvnets v0.1 (the paper's) and of its HEAD
V01_TABLE = [(160, 328), (192, 224), (256, 128), (288, 128), (320, 128)]
HEAD_TABLE = [(160, 327), (192, 227), (256, 128), (288, 101), (320, 81)]


@pytest.mark.parametrize('variant', ['small', 'xsmall', 'xxsmall'])
@pytest.mark.parametrize('recipe,table', [('', V01_TABLE),
                                          ('-cvnets-head', HEAD_TABLE)])
def test_imagenet_configs_build_the_paper_sampler(image_folder, variant,
                                                  recipe, table):
    from mmengine.runner import Runner
    path = osp.join(
        osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
        'configs', 'mobilevit', f'mobilevit-{variant}_8xb128{recipe}_in1k.py')
    cfg = parsed_config(path)
    loader_cfg = cfg.train_dataloader
    loader_cfg.dataset.dataset.update(
        type='CustomDataset',
        data_root=image_folder,
        data_prefix='',
        ann_file='',
        with_label=True)
    loader_cfg.dataset.dataset.pop('split')
    loader_cfg.num_workers = 0
    loader_cfg.persistent_workers = False
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        loader = Runner.build_dataloader(loader_cfg, seed=0)
    batch_sampler = loader.batch_sampler
    assert isinstance(batch_sampler, MultiScaleVariableBatchSampler)
    assert isinstance(loader.dataset, MultiScaleDataset)
    assert [tuple(r) for r in batch_sampler.scale_table
            ] == [(size, size, batch) for size, batch in table]
    assert batch_sampler.batch_size == 128
    # the paper's crop at the reference size when no size is sampled
    assert loader.dataset[0]['inputs'].shape == (3, 256, 256)
    assert loader.dataset[(160, 160, 0)]['inputs'].shape == (3, 160, 160)
    # the paper's recipe around it
    assert cfg.train_cfg.max_epochs == 300
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.01
    assert cfg.model.head.loss.label_smooth_val == 0.1
    assert any(h.type == 'EMAHook' for h in cfg.custom_hooks)


def test_a_fresh_process_resolves_the_registered_names():
    """Configs name ``mmvit.X``; mmengine imports ``mmvit.datasets`` (the
    registry's location) on first lookup, which must register them."""
    import subprocess
    code = (
        'from mmengine.registry import DATA_SAMPLERS, DATASETS, TRANSFORMS\n'
        'from mmengine.registry import DefaultScope\n'
        "with DefaultScope.overwrite_default_scope('mmdet'):\n"
        "    assert DATA_SAMPLERS.get("
        "'mmvit.MultiScaleVariableBatchSampler')\n"
        "    assert DATASETS.get('mmvit.MultiScaleDataset')\n"
        "    assert TRANSFORMS.get('mmvit.SampledSizeTransform')\n")
    proc = subprocess.run([sys.executable, '-c', code],
                          capture_output=True,
                          text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
