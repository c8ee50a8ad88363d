"""The multi-scale detection and segmentation configs are their fixed-size
configs with exactly the sampler switch (the sampler guide,
docs/en/advanced_guides/multiscale_sampler.md): the resize / crop at the
sampled size, the dataset wrapper, the batch sampler, segmentation's batch
padding and the mid-epoch resume hook.
Training them on generated data: tests/test_tools/test_sampler_dist.py."""
import os.path as osp

import pytest
from conftest import parsed_config
from mmengine.config import Config

from mmvit.datasets.multiscale import build_scale_table

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO_ROOT, 'configs')

# multi-scale config -> (fixed-size config, the wrapped step, its size
# argument and order, the (h, w, images per GPU) table)
MULTISCALE = {
    'ssdlite_mobilevit/ssdlite_mobilevit-s_4xb32-ms-200e_coco.py':
    ('ssdlite_mobilevit/ssdlite_mobilevit-s_4xb32-200e_coco.py', 'Resize', 'scale', 'wh',
     [(256, 256, 50), (320, 320, 32), (384, 384, 22)]),
    'deeplabv3_mobilevit/deeplabv3_mobilevit-s-d16_4xb32-ms-50e_voc12aug-512x512.py':
    ('deeplabv3_mobilevit/deeplabv3_mobilevit-s-d16_4xb32-50e_voc12aug-512x512.py', 'RandomCrop',
     'crop_size', 'hw', [(384, 384, 56), (512, 512, 32), (640, 640, 20)]),
}
# what the switch changes; every other key resolves as the fixed config's
SWITCHED = {'train_dataloader', 'train_pipeline', 'custom_hooks'}
SEG_SWITCHED = {'data_preprocessor', 'model'}


def _load(name: str) -> Config:
    return parsed_config(osp.join(CONFIGS, name))


def _pipelines(dataset) -> list:
    """The pipelines of the datasets inside ``dataset`` (wrappers' and
    ConcatDataset's included)."""
    if 'pipeline' in dataset:
        return [dataset.pipeline]
    if 'datasets' in dataset:
        return [p for d in dataset.datasets for p in _pipelines(d)]
    return _pipelines(dataset.dataset)


def _without_pipelines(dataset) -> dict:
    dataset = dataset.to_dict() if hasattr(dataset, 'to_dict') else dataset
    out = {k: v for k, v in dataset.items() if k != 'pipeline'}
    if 'datasets' in out:
        out['datasets'] = [_without_pipelines(d) for d in out['datasets']]
    return out


@pytest.mark.parametrize('name', sorted(MULTISCALE))
def test_multiscale_config_is_its_fixed_config_but_the_switch(name):
    fixed_name, step_type, size_arg, size_order, _ = MULTISCALE[name]
    cfg, fixed = _load(name).to_dict(), _load(fixed_name).to_dict()
    switched = SWITCHED | (SEG_SWITCHED if 'deeplabv3' in name else set())
    assert set(cfg) == set(fixed)
    for key in set(cfg) - switched:
        assert cfg[key] == fixed[key], key
    if 'deeplabv3' in name:
        # crops may be smaller than the drawn size: pad to a multiple of 32
        pre, fixed_pre = (c['model']['data_preprocessor']
                          for c in (cfg, fixed))
        assert pre['size'] is None and pre['size_divisor'] == 32
        assert {k: v for k, v in pre.items() if k != 'size_divisor'} == dict(
            fixed_pre, size=None)
        assert ({k: v for k, v in cfg['model'].items()
                 if k != 'data_preprocessor'} ==
                {k: v for k, v in fixed['model'].items()
                 if k != 'data_preprocessor'})
    # the exact --resume hook joins the recipe's hooks
    assert cfg['custom_hooks'] == [
        *fixed['custom_hooks'],
        dict(type='mmvit.MidEpochResumeHook')
    ]

    # the loader: same settings, the sampler and the wrapper added
    loader, fixed_loader = cfg['train_dataloader'], fixed['train_dataloader']
    assert ({k: v for k, v in loader.items()
             if k not in ('batch_sampler', 'dataset')} ==
            {k: v for k, v in fixed_loader.items()
             if k not in ('batch_sampler', 'dataset')})
    assert loader['batch_sampler']['type'] == (
        'mmvit.MultiScaleVariableBatchSampler')
    wrapper = loader['dataset']
    assert wrapper['type'] == 'mmvit.MultiScaleDataset'
    assert set(wrapper) == {'type', 'dataset'}
    cfg_obj, fixed_obj = _load(name), _load(fixed_name)
    inner = cfg_obj.train_dataloader.dataset.dataset
    assert _without_pipelines(inner) == _without_pipelines(
        fixed_obj.train_dataloader.dataset)

    # every pipeline: the fixed one with its resize / crop at the drawn size
    pipelines = _pipelines(inner)
    fixed_pipelines = _pipelines(fixed_obj.train_dataloader.dataset)
    assert len(pipelines) == len(fixed_pipelines) >= 1
    for pipeline, fixed_pipeline in zip(pipelines, fixed_pipelines):
        assert len(pipeline) == len(fixed_pipeline)
        wrapped = [
            i for i, step in enumerate(fixed_pipeline)
            if step['type'] == step_type
        ]
        assert len(wrapped) == 1
        for i, (step, fixed_step) in enumerate(zip(pipeline,
                                                   fixed_pipeline)):
            if i in wrapped:
                assert step == dict(
                    type='mmvit.SampledSizeTransform',
                    transform=fixed_step,
                    size_arg=size_arg,
                    size_order=size_order)
            else:
                assert step == fixed_step
        assert pipeline == cfg_obj.train_pipeline


@pytest.mark.parametrize('name', sorted(MULTISCALE))
def test_multiscale_table_is_around_the_fixed_size(name):
    fixed_name, step_type, size_arg, _, table = MULTISCALE[name]
    cfg, fixed = _load(name), _load(fixed_name)
    loader = cfg.train_dataloader
    args = dict(loader.batch_sampler)
    args.pop('type')
    rows = build_scale_table(batch_size=loader.batch_size, **args)
    assert [tuple(row) for row in rows] == table
    # the reference size is the fixed config's input (it keeps the batch)
    fixed_step = next(
        step for step in _pipelines(fixed.train_dataloader.dataset)[0]
        if step['type'] == step_type)
    reference = tuple(fixed_step[size_arg])
    assert (rows[1].height, rows[1].width) == reference
    assert rows[1].batch_size == fixed.train_dataloader.batch_size
    # constant pixel budget (batches rounded down)
    budget = reference[0] * reference[1] * loader.batch_size
    for row in rows:
        assert row.batch_size == budget // (row.height * row.width)
