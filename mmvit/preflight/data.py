"""The data and checkpoints a config's run reads: missing dataset and
evaluator files (with where to get the data and the demo that needs none)
and missing ``Pretrained`` checkpoints (with the converter command)."""
import dataclasses
import os.path as osp
from typing import Iterator, List, Optional, Tuple

from mmengine.config import Config
from mmengine.registry import MODELS

from mmvit.datasets.validation import is_local_path
from .lookup import init_arg, lookup

_DEMOS = {
    'mmdet': 'python tools/train.py configs/ssdlite_mobilevit_xxs_shapes.py',
    'mmseg': 'python tools/train.py configs/deeplabv3_mobilevit_xxs_shapes.py',
}


@dataclasses.dataclass(frozen=True)
class _DataHelp:
    """Where a standard dataset lives and how to get it."""
    name: str
    layout: str
    source: str


# keyed by the name of a class in the dataset class's MRO
_DATA_HELP = {
    'CocoDataset':
    _DataHelp(
        'COCO 2017', "mmdet's layout data/coco/annotations/"
        'instances_{train,val}2017.json + data/coco/{train,val}2017/',
        'https://cocodataset.org/#download, or mmdet\'s `python '
        'tools/misc/download_dataset.py --dataset-name coco2017` (in the '
        'mmdetection repository)'),
    'PascalVOCDataset':
    _DataHelp(
        'PASCAL VOC 2012 + SBD aug',
        "mmseg's voc12aug layout data/VOCdevkit/VOC2012/{JPEGImages, "
        'SegmentationClass, SegmentationClassAug, '
        'ImageSets/Segmentation/{train,val,aug}.txt}',
        'http://host.robots.ox.ac.uk/pascal/VOC/voc2012/ plus SBD, converted '
        "with mmseg's tools/dataset_converters/voc_aug.py as in mmseg's "
        'docs (user_guides/2_dataset_prepare.md, "Pascal VOC")'),
    'ImageNet':
    _DataHelp(
        'ImageNet-1k', "mmpretrain's layout data/imagenet/{train,val}/ "
        '(+ optional data/imagenet/meta/{train,val}.txt)',
        "https://image-net.org/download.php, prepared as in mmpretrain's "
        'docs (user_guides/dataset_prepare.md, "ImageNet")'),
}

# sets written by mmvit's converters, keyed by their data_root (before
# the class's help: they reuse a standard dataset class)
_CONVERTED_DATA_HELP = {
    'data/coco_voc':
    _DataHelp(
        'COCO train2017 with VOC classes',
        'data/coco_voc/{JPEGImages, SegmentationClassCOCO, '
        'ImageSets/Segmentation/train_coco.txt}',
        'COCO 2017 (https://cocodataset.org/#download) converted with '
        '`python tools/dataset_converters/coco2voc_seg.py '
        'data/coco/annotations/instances_train2017.json data/coco/train2017 '
        'data/coco_voc`'),
}


def leaf_datasets(dataset, where: str) -> Iterator[Tuple[str, dict]]:
    """``(config key, config)`` of every dataset inside wrappers that hold a
    ``dataset`` (RepeatDataset, MultiScaleDataset, ...) or ``datasets``
    (ConcatDataset)."""
    if not isinstance(dataset, dict):
        return
    if isinstance(dataset.get('datasets'), (list, tuple)):
        for i, inner in enumerate(dataset['datasets']):
            yield from leaf_datasets(inner, f'{where}.datasets.{i}')
    elif isinstance(dataset.get('dataset'), dict):
        yield from leaf_datasets(dataset['dataset'], f'{where}.dataset')
    else:
        yield where, dataset


def _join(root: str, path: str) -> str:
    return osp.join(root, path) if root else path


def _makes_own_data(cls, dataset: dict) -> bool:
    """mmvit's shapes datasets (generated on first use) and datasets that
    download themselves (mmpretrain's CIFAR, MNIST, ...)."""
    from mmvit.datasets.shapes import GeneratedOnFirstUse
    if isinstance(cls, type) and issubclass(cls, GeneratedOnFirstUse):
        return bool(dataset.get('generate', True))
    return bool(init_arg(cls, dataset, 'download', False))


def _dataset_paths(dataset: dict) -> List[Tuple[str, str]]:
    """``(what, path)`` of the local files and folders ``dataset`` reads
    first; only ``data_root`` if that is missing."""
    backend = dataset.get('backend_args') or {}
    if backend.get('backend', 'local') != 'local':
        return []
    root = dataset.get('data_root') or ''
    if is_local_path(root) and not osp.isdir(root):
        return [('data_root', root)]
    if root and not is_local_path(root):
        return []
    paths = []
    ann_file = dataset.get('ann_file') or ''
    if is_local_path(ann_file):
        paths.append(('ann_file', _join(root, ann_file)))
    prefix = dataset.get('data_prefix') or ''
    prefixes = prefix.items() if isinstance(prefix, dict) else [('', prefix)]
    for key, value in prefixes:
        if is_local_path(value):
            what = f'data_prefix.{key}' if key else 'data_prefix'
            paths.append((what, _join(root, value)))
    return [(what, path) for what, path in paths if not osp.exists(path)]


def _inside(path: str, roots: List[str]) -> bool:
    """Whether ``path`` lies in one of the folders ``roots``."""
    path = osp.abspath(path)
    return any(osp.commonpath([path, root]) == root for root in roots)


def _help_of(cls, dataset: dict) -> Optional[_DataHelp]:
    root = osp.normpath(str(dataset.get('data_root') or '.'))
    if root in _CONVERTED_DATA_HELP:
        return _CONVERTED_DATA_HELP[root]
    for klass in (cls.__mro__ if isinstance(cls, type) else ()):
        if klass.__name__ in _DATA_HELP:
            return _DATA_HELP[klass.__name__]
    return None


def missing_data(cfg: Config, parts, leaves, scope) -> List[str]:
    """One line per dataset / evaluator with missing files, then how to get
    the data, how to point the config at it and the demo without it."""
    lines, helps, keys, own_roots = [], [], [], []
    for where, dataset, cls in leaves:
        if _makes_own_data(cls, dataset):
            own_roots.append(osp.abspath(dataset.get('data_root') or '.'))
            continue
        missing = _dataset_paths(dataset)
        if not missing:
            continue
        name = getattr(cls, '__name__', dataset.get('type'))
        lines.append(f'  {where} ({name}): ' +
                     ', '.join(f'{what} {path}' for what, path in missing))
        keys.append(f'{where}.data_root')
        help_ = _help_of(cls, dataset)
        if help_ is not None and help_ not in helps:
            helps.append(help_)
    for _, evaluator in parts:
        metrics = cfg.get(evaluator) if evaluator else None
        metrics = metrics if isinstance(metrics, (list, tuple)) else [metrics]
        for i, metric in enumerate(metrics):
            ann_file = metric.get('ann_file') if isinstance(metric,
                                                            dict) else None
            if (is_local_path(ann_file) and not osp.isfile(ann_file)
                    and not _inside(ann_file, own_roots)):
                where = evaluator if len(metrics) == 1 else f'{evaluator}.{i}'
                lines.append(f'  {where}: ann_file {ann_file}')
                keys.append(f'{where}.ann_file')
    if not lines:
        return []
    config = f' of {cfg.filename}' if cfg.filename else ''
    text = [f'Dataset files{config} not found:'] + lines
    for help_ in helps:
        text.append(f'{help_.name} is expected in {help_.layout}; get it '
                    f'from {help_.source}.')
    others = f' (and {", ".join(keys[1:])})' if keys[1:] else ''
    demo = _DEMOS.get(scope) or ' or '.join(_DEMOS.values())
    text.append(f'Point the config at your copy with --cfg-options '
                f'{keys[0]}=DIR{others}, or run on the embedded generated '
                f'data instead: {demo}')
    return ['\n'.join(text)]


def missing_checkpoints(cfg,
                        where: str,
                        scope,
                        pretrain_config: Optional[str] = None) -> List[str]:
    """Messages for ``Pretrained`` ``init_cfg`` files missing anywhere in a
    model config (``pretrain_config``: the config whose training writes
    them, if the config names one)."""
    if isinstance(cfg, (list, tuple)):
        return [
            msg for i, item in enumerate(cfg) for msg in missing_checkpoints(
                item, f'{where}.{i}', scope, pretrain_config)
        ]
    if not isinstance(cfg, dict):
        return []
    messages = []
    init_cfg = cfg.get('init_cfg')
    inits = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    for init in inits:
        if not (isinstance(init, dict) and init.get('type') == 'Pretrained'):
            continue
        path = init.get('checkpoint')
        if is_local_path(path) and not osp.isfile(path):
            messages.append(
                _checkpoint_message(cfg, where, path, scope, pretrain_config))
    for key, value in cfg.items():
        if key != 'init_cfg':
            messages += missing_checkpoints(value, f'{where}.{key}', scope,
                                            pretrain_config)
    return messages


def _checkpoint_message(owner: dict,
                        where: str,
                        path: str,
                        scope,
                        pretrain_config: Optional[str] = None) -> str:
    from mmvit.converters.detect import FORMAT_NAMES
    from mmvit.models.backbones.families import family_of_class
    cls = lookup(MODELS, owner.get('type'), scope)
    scratch = f'--cfg-options {where}.init_cfg=None'
    if pretrain_config:
        return (f'{where}.init_cfg names the checkpoint {path}, which does '
                'not exist yet: it is written by the pretraining stage, '
                f'`python tools/train.py {pretrain_config}` (or run every '
                'stage with `python tools/demo.py`); or train from scratch '
                f'with {scratch}')
    family = family_of_class(cls)
    if family is None:
        return (f'{where}.init_cfg names the checkpoint {path}, which does '
                'not exist: download or convert the weights to that path, '
                f'or start from random weights with {scratch}')
    arch = init_arg(cls, owner, 'arch')
    source = (family.cvnets_name(arch) if isinstance(arch, str)
              and arch in family.archs and family.cvnets_name else 'SRC')
    others = ' / '.join(  # the formats' names without their article
        FORMAT_NAMES[fmt].split(' ', 1)[1] for fmt in family.converters
        if fmt != 'cvnets')
    return (f'{where}.init_cfg names the checkpoint {path}, which does not '
            f'exist: convert ImageNet {cls.__name__} weights into it with '
            '`python '
            f'tools/model_converters/mobilevit2mmvit.py {source} {path}` '
            f"({source}: ml-cvnets' release; {others} weights work too, "
            'see the guide "Pretrained weights"), or train from scratch with '
            f'{scratch}')
