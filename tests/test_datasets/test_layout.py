"""Issue 15 package layout: old import paths give the new objects, moved
types build by their registered names, and the demo configs take their
schedule and detection data from the new base files."""
import importlib
import os.path as osp

import pytest
from conftest import parsed_config
from mmengine.config import Config

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO_ROOT, 'configs')
DEMO_CONFIGS = [
    'mobilevit/mobilevit-xxsmall_1xb32_shapes.py',
    'ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py',
    'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_1xb8-2e_shapes-256x256.py',
]
DET_DEMO = 'ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py'

# (old module, new module, name, toolbox it needs or None)
MOVED = [
    ('mmvit.datasets.samplers', 'mmvit.datasets.multiscale',
     'MultiScaleVariableBatchSampler', None),
    ('mmvit.datasets.samplers', 'mmvit.datasets.multiscale', 'SizedIndex',
     None),
    ('mmvit.datasets.samplers', 'mmvit.datasets.multiscale', 'ScaleBatch',
     None),
    ('mmvit.datasets.samplers', 'mmvit.datasets.multiscale',
     'build_scale_table', None),
    ('mmvit.datasets.samplers', 'mmvit.datasets.multiscale',
     'min_batches_for', None),
    ('mmvit.datasets.samplers.multi_scale_variable_batch_sampler',
     'mmvit.datasets.multiscale.sampler', 'MultiScaleVariableBatchSampler',
     None),
    ('mmvit.datasets.samplers.scale_table',
     'mmvit.datasets.multiscale.scale_table', 'build_scale_table', None),
    ('mmvit.datasets.samplers.scale_table',
     'mmvit.datasets.multiscale.scale_table', 'to_hw', None),
    ('mmvit.datasets.wrappers', 'mmvit.datasets.multiscale',
     'MultiScaleDataset', None),
    ('mmvit.datasets', 'mmvit.datasets.multiscale', 'MultiScaleDataset',
     None),
    ('mmvit.datasets.transforms', 'mmvit.datasets.multiscale',
     'SampledSizeTransform', None),
    ('mmvit.datasets.transforms', 'mmvit.datasets.multiscale',
     'SAMPLED_SIZE_KEY', None),
    ('mmvit.datasets.transforms.sampled_size',
     'mmvit.datasets.multiscale.transform', 'SampledSizeTransform', None),
    ('mmvit.datasets.shapes', 'mmvit.datasets.shapes.generator',
     'generate_shapes_dataset', None),
    ('mmvit.datasets.shapes', 'mmvit.datasets.shapes.generator',
     'GeneratedOnFirstUse', None),
    ('mmvit.datasets.shapes', 'mmvit.datasets.shapes.generator',
     'CLS_CLASSES', None),
    ('mmvit.datasets.shapes_detection', 'mmvit.datasets.shapes.detection',
     'ShapesDetDataset', 'mmdet'),
    ('mmvit.datasets.shapes_segmentation',
     'mmvit.datasets.shapes.segmentation', 'ShapesSegDataset', 'mmseg'),
    ('mmvit.datasets.shapes_classification',
     'mmvit.datasets.shapes.classification', 'ShapesClsDataset',
     'mmpretrain'),
    ('mmvit.models.dense_heads.ssdlite_anchor_generator',
     'mmvit.models.task_modules', 'SSDLiteAnchorGenerator', 'mmdet'),
    ('mmvit.models.dense_heads', 'mmvit.models.task_modules',
     'SSDLiteAnchorGenerator', 'mmdet'),
]


@pytest.mark.parametrize('old,new,name,toolbox', MOVED)
def test_old_import_path_gives_the_new_object(old, new, name, toolbox):
    if toolbox is not None:
        pytest.importorskip(toolbox)
    assert getattr(importlib.import_module(old), name) is getattr(
        importlib.import_module(new), name)


def test_shapes_package_exports_what_the_old_module_did():
    from mmvit.datasets import shapes
    for name in ('SHAPE_CLASSES', 'CLS_CLASSES', 'SPLITS',
                 'GeneratedOnFirstUse', 'ensure_generated',
                 'ensure_shapes_dataset', 'ensure_shapes_classification',
                 'generate_shapes_dataset', 'generate_shapes_classification',
                 'render_classification_image'):
        assert hasattr(shapes, name), name


# (registry name in mmvit.registry, registered type, module it lives in)
REGISTERED = [
    ('DATA_SAMPLERS', 'MultiScaleVariableBatchSampler',
     'mmvit.datasets.multiscale.sampler', None),
    ('DATASETS', 'MultiScaleDataset', 'mmvit.datasets.multiscale.dataset',
     None),
    ('TRANSFORMS', 'SampledSizeTransform',
     'mmvit.datasets.multiscale.transform', None),
    ('DATASETS', 'ShapesDetDataset', 'mmvit.datasets.shapes.detection',
     'mmdet'),
    ('DATASETS', 'ShapesSegDataset', 'mmvit.datasets.shapes.segmentation',
     'mmseg'),
    ('DATASETS', 'ShapesClsDataset', 'mmvit.datasets.shapes.classification',
     'mmpretrain'),
    ('TASK_UTILS', 'SSDLiteAnchorGenerator',
     'mmvit.models.task_modules.ssdlite_anchor_generator', 'mmdet'),
]


@pytest.mark.parametrize('registry,name,module,toolbox', REGISTERED)
def test_moved_type_is_registered_under_its_name(registry, name, module,
                                                 toolbox):
    if toolbox is not None:
        pytest.importorskip(toolbox)
    from mmvit import registry as registries

    # the registry's locations import it: nothing imported by hand
    cls = getattr(registries, registry).get(name)
    assert cls is not None and cls.__module__ == module
    assert cls.__name__ == name


def test_registry_builds_the_moved_types_by_name(tmp_path):
    from mmengine.dataset import BaseDataset, Compose

    from mmvit.registry import DATA_SAMPLERS, DATASETS, TRANSFORMS

    class _Data(BaseDataset):

        def load_data_list(self):
            return [dict(i=i) for i in range(8)]

    transform = TRANSFORMS.build(
        dict(
            type='mmvit.SampledSizeTransform',
            transform=dict(type='mmvit.CheckSegMap', num_classes=2),
            size_arg='num_classes',
            size_order='hw'))
    assert type(transform).__name__ == 'SampledSizeTransform'
    data = _Data(pipeline=[], serialize_data=False)
    data.pipeline = Compose([transform])
    wrapped = DATASETS.build(dict(type='mmvit.MultiScaleDataset',
                                  dataset=data))
    assert type(wrapped).__name__ == 'MultiScaleDataset'
    sampler = DATA_SAMPLERS.build(
        dict(
            type='mmvit.MultiScaleVariableBatchSampler',
            sampler=list(range(8)),
            batch_size=2,
            base_size=32,
            min_size=32,
            max_size=64,
            num_scales=2))
    assert type(sampler).__name__ == 'MultiScaleVariableBatchSampler'


def test_registry_builds_the_anchor_generator_by_name():
    pytest.importorskip('mmdet')
    from mmvit.registry import TASK_UTILS
    cfg = parsed_config(osp.join(CONFIGS, DET_DEMO))
    anchors = cfg.model.bbox_head.anchor_generator
    assert anchors.type == 'mmvit.SSDLiteAnchorGenerator'
    generator = TASK_UTILS.build(anchors)
    assert type(generator).__name__ == 'SSDLiteAnchorGenerator'


def _base_files(path: str) -> list:
    base = Config._get_base_files(path)
    return [osp.normpath(osp.join(osp.dirname(path), b)) if '::' not in b
            else b for b in base]


@pytest.mark.parametrize('name', DEMO_CONFIGS)
def test_demo_configs_share_the_schedule_base(name):
    path = osp.join(CONFIGS, name)
    schedule = osp.join(CONFIGS, '_base_', 'schedules', 'shapes_demo.py')
    assert schedule in _base_files(path)
    cfg = parsed_config(path)
    pieces = parsed_config(schedule).shapes_demo
    assert cfg.optim_wrapper.optimizer.lr == pieces.optim_wrapper.optimizer.lr
    warmup, cosine = cfg.param_scheduler
    assert warmup == pieces.warmup
    assert {k: cosine[k] for k in pieces.cosine} == pieces.cosine
    assert cosine.end == cfg.train_cfg.max_epochs
    assert cfg.custom_hooks[-1] == pieces.mid_epoch_resume_hook
    assert cfg.default_hooks.logger.interval == pieces.logger.interval
    assert cfg.default_hooks.checkpoint.interval == cfg.train_cfg.max_epochs
    assert (cfg.default_hooks.checkpoint.max_keep_ckpts ==
            pieces.checkpoint.max_keep_ckpts)


def test_shapes_det_config_takes_its_data_from_shapes_det():
    pytest.importorskip('mmdet')
    path = osp.join(CONFIGS, DET_DEMO)
    data = osp.join(CONFIGS, '_base_', 'datasets', 'shapes_det.py')
    assert data in _base_files(path)
    cfg, base = parsed_config(path), parsed_config(data)
    for key in ('dataset_type', 'data_root', 'input_size', 'train_pipeline',
                'test_pipeline', 'train_dataloader', 'val_dataloader',
                'test_dataloader', 'val_evaluator', 'test_evaluator'):
        assert cfg[key] == base[key], key
    assert cfg.train_dataloader.dataset.type == 'mmvit.ShapesDetDataset'
    assert cfg.model.bbox_head.anchor_generator.input_size == base.input_size
    # the leaf no longer writes the data: it is the base's alone
    with open(path, encoding='utf-8') as f:
        text = f.read()
    assert 'train_dataloader' not in text and 'pipeline' not in text
    # the peer keeps the same data
    peer = parsed_config(
        osp.join(CONFIGS, 'peers', 'ssdlite_mobilenetv2_shapes.py'))
    assert peer.train_dataloader == cfg.train_dataloader
