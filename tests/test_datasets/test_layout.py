"""Package layout: each object has one home that its package exports,
registered types build by their names, and the demo configs take their
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

# (package, module the name lives in, name): a package exports its parts
EXPORTED = [
    ('mmvit.datasets.multiscale', 'mmvit.datasets.multiscale.sampler',
     'MultiScaleVariableBatchSampler'),
    ('mmvit.datasets.multiscale', 'mmvit.datasets.multiscale.scale_table',
     'build_scale_table'),
    ('mmvit.datasets', 'mmvit.datasets.multiscale.dataset',
     'MultiScaleDataset'),
    ('mmvit.datasets.shapes', 'mmvit.datasets.shapes.generator',
     'generate_shapes_dataset'),
    ('mmvit.datasets.shapes', 'mmvit.datasets.shapes.first_use',
     'GeneratedOnFirstUse'),
    ('mmvit.datasets.shapes', 'mmvit.datasets.shapes.cls_generator',
     'CLS_CLASSES'),
]


@pytest.mark.parametrize('package,module,name', EXPORTED)
def test_package_exports_the_object_of_its_module(package, module, name):
    assert getattr(importlib.import_module(package), name) is getattr(
        importlib.import_module(module), name)


@pytest.mark.parametrize('old', [
    'mmvit.datasets.samplers', 'mmvit.datasets.wrappers',
    'mmvit.datasets.shapes_detection', 'mmvit.datasets.checks',
    'mmvit.datasets.transforms.sampled_size', 'mmvit.models.utils',
    'mmvit.models.dense_heads.ssdlite_anchor_generator',
    'mmvit.deployment.onnx_export', 'mmvit.deployment.checks',
    'mmvit.utils.dist', 'mmvit.utils.checks'
])
def test_old_homes_are_gone(old):
    """One home per object: the re-exports of earlier layouts are deleted."""
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(old)


def test_shapes_package_exports_its_generator():
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
