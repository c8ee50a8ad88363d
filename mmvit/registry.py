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


def _node(name: str, parent: Registry, package: str) -> Registry:
    """mmvit's child of an mmengine registry; its types live in
    ``mmvit.<package>``."""
    return Registry(
        name, parent=parent, scope='mmvit', locations=[f'mmvit.{package}'])


MODELS = _node('model', MMENGINE_MODELS, 'models')
TASK_UTILS = _node('task util', MMENGINE_TASK_UTILS, 'models')
DATASETS = _node('dataset', MMENGINE_DATASETS, 'datasets')
DATA_SAMPLERS = _node('data sampler', MMENGINE_DATA_SAMPLERS, 'datasets')
TRANSFORMS = _node('transform', MMENGINE_TRANSFORMS, 'datasets')
HOOKS = _node('hook', MMENGINE_HOOKS, 'engine')
# No METRICS node: mmvit has no metrics of its own (configs use the
# toolboxes' CocoMetric, IoUMetric, Accuracy); add one with its package.
