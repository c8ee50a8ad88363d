"""mmvit's own registry nodes (scope ``'mmvit'``).

Each node is a child of the corresponding mmengine root, so a config of any
OpenMMLab toolbox can say ``type='mmvit.MobileViT'`` whatever its
``default_scope`` (``'mmdet'``, ``'mmseg'``, ``'mmpretrain'`` or none):
mmengine finds the ``mmvit`` child of the root and imports ``locations`` on
first use. Every node's ``locations`` exist (``tests/test_apis.py``).
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

MODELS = Registry(
    'model', parent=MMENGINE_MODELS, scope='mmvit', locations=['mmvit.models'])
TASK_UTILS = Registry(
    'task util',
    parent=MMENGINE_TASK_UTILS,
    scope='mmvit',
    locations=['mmvit.models'])
DATASETS = Registry(
    'dataset',
    parent=MMENGINE_DATASETS,
    scope='mmvit',
    locations=['mmvit.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler',
    parent=MMENGINE_DATA_SAMPLERS,
    scope='mmvit',
    locations=['mmvit.datasets'])
TRANSFORMS = Registry(
    'transform',
    parent=MMENGINE_TRANSFORMS,
    scope='mmvit',
    locations=['mmvit.datasets'])
HOOKS = Registry(
    'hook', parent=MMENGINE_HOOKS, scope='mmvit', locations=['mmvit.engine'])
# No METRICS node: mmvit has no metrics of its own (configs use the
# toolboxes' CocoMetric, IoUMetric, Accuracy); add one with its package.
