"""Checks of a config before a run starts, for what a new user trips on.

:func:`check_config` reads the config only (nothing is built and no data is
loaded) and raises one message that names the missing path or the keys that
disagree, and the fix:

* dataset files (``data_root``, ``ann_file``, ``data_prefix``, through
  ``ConcatDataset`` / ``RepeatDataset`` / ``MultiScaleDataset`` style
  wrappers) and evaluator annotation files of the dataloaders the run uses,
  with the toolbox's layout, where to get the data and the demo that needs
  none; datasets that generate their data on first use are skipped;
* ``Pretrained`` checkpoints of ``init_cfg`` entries (local paths only), with
  the converter command or the from-scratch option;
* model wiring: neck / head ``in_channels`` against what the module before
  them outputs (MobileViT backbones, SSDLite necks), and head ``num_classes``
  against the dataset's classes.

Without it the same mistakes end in a stack trace from pycocotools or
mmengine, some only after the model is built and the data indexed.
"""
import dataclasses
import inspect
import os.path as osp
from typing import Iterator, List, Optional, Tuple

from mmengine.config import Config
from mmengine.registry import DATASETS, MODELS

from mmvit.datasets.validation import is_local_path

# The loops mmengine's Runner builds for a command, as (dataloader,
# evaluator, loop) keys; a loop is built only when all its keys are set.
_RUN_PARTS = {
    'train': (('train_dataloader', None, 'train_cfg'),
              ('val_dataloader', 'val_evaluator', 'val_cfg')),
    'val': (('val_dataloader', 'val_evaluator', 'val_cfg'), ),
    'test': (('test_dataloader', 'test_evaluator', 'test_cfg'), ),
}

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

# ml-cvnets' ImageNet checkpoints (README "Pretrained weights")
_CVNETS_IMAGENET = {
    'small': 'mobilevit_s.pt',
    'x_small': 'mobilevit_xs.pt',
    'xx_small': 'mobilevit_xxs.pt'
}


def check_config(cfg: Config, mode: str = 'train') -> None:
    """Check what a ``mode`` run of ``cfg`` needs before anything is built.

    Args:
        cfg (Config): The config as the tools run it.
        mode (str): ``'train'`` (train and, when configured, val
            dataloaders, ``init_cfg`` checkpoints), ``'val'`` or ``'test'``.
            Defaults to ``'train'``.

    Raises:
        FileNotFoundError: Dataset, annotation or checkpoint files are
            missing (all of them in one message).
        ValueError: Channels or class counts of the model disagree with each
            other or with the dataset.
    """
    if mode not in _RUN_PARTS:
        raise ValueError(f'mode must be one of {sorted(_RUN_PARTS)}, got '
                         f'{mode!r}')
    scope = cfg.get('default_scope')
    parts = [(loader, evaluator)
             for loader, evaluator, loop in _RUN_PARTS[mode]
             if isinstance(cfg.get(loader), dict) and cfg.get(loop) is not None
             and (evaluator is None or cfg.get(evaluator) is not None)]
    leaves = [(where, dataset, _lookup(DATASETS, dataset.get('type'), scope))
              for loader, _ in parts for where, dataset in _leaf_datasets(
                  cfg[loader].get('dataset'), f'{loader}.dataset')]
    model = cfg.get('model')
    model = model if isinstance(model, dict) else {}

    missing = _missing_data(cfg, parts, leaves, scope)
    if mode == 'train':  # a test run loads a whole checkpoint instead
        missing += _missing_checkpoints(model, 'model', scope,
                                        cfg.get('pretrain_config'))
    if missing:
        raise FileNotFoundError('\n'.join(missing))

    wrong = _wiring_problems(model, scope) + _class_problems(
        model, leaves, scope)
    if wrong:
        raise ValueError('\n'.join(wrong))


# ------------------------------------------------------------------ helpers
def _lookup(registry, name, scope: Optional[str]):
    """The class ``name`` builds under ``scope``, or None if unknown."""
    if isinstance(name, type):
        return name
    if not isinstance(name, str):
        return None
    with registry.switch_scope_and_registry(scope) as scoped:
        return scoped.get(name)


def _arg(cls, cfg: dict, name: str, default=None):
    """The ``name`` argument ``cls(**cfg)`` gets: the config's, else the
    default of the first ``__init__`` in the MRO that declares it."""
    if name in cfg:
        return cfg[name]
    for klass in (cls.__mro__ if isinstance(cls, type) else ()):
        try:
            params = inspect.signature(klass.__init__).parameters
        except (TypeError, ValueError):  # no signature (C types)
            continue
        if name in params:
            value = params[name].default
            return default if value is inspect.Parameter.empty else value
    return default


def _leaf_datasets(dataset, where: str) -> Iterator[Tuple[str, dict]]:
    """``(config key, config)`` of every dataset inside wrappers that hold a
    ``dataset`` (RepeatDataset, MultiScaleDataset, ...) or ``datasets``
    (ConcatDataset)."""
    if not isinstance(dataset, dict):
        return
    if isinstance(dataset.get('datasets'), (list, tuple)):
        for i, inner in enumerate(dataset['datasets']):
            yield from _leaf_datasets(inner, f'{where}.datasets.{i}')
    elif isinstance(dataset.get('dataset'), dict):
        yield from _leaf_datasets(dataset['dataset'], f'{where}.dataset')
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
    return bool(_arg(cls, dataset, 'download', False))


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


def _missing_data(cfg: Config, parts, leaves, scope) -> List[str]:
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


def _missing_checkpoints(cfg,
                         where: str,
                         scope,
                         pretrain_config: Optional[str] = None) -> List[str]:
    """Messages for ``Pretrained`` ``init_cfg`` files missing anywhere in a
    model config (``pretrain_config``: the config whose training writes
    them, if the config names one)."""
    if isinstance(cfg, (list, tuple)):
        return [
            msg for i, item in enumerate(cfg) for msg in _missing_checkpoints(
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
            messages += _missing_checkpoints(value, f'{where}.{key}', scope,
                                             pretrain_config)
    return messages


def _checkpoint_message(owner: dict,
                        where: str,
                        path: str,
                        scope,
                        pretrain_config: Optional[str] = None) -> str:
    from mmvit.models.backbones import MobileViT, MobileViTv2
    cls = _lookup(MODELS, owner.get('type'), scope)
    scratch = f'--cfg-options {where}.init_cfg=None'
    if pretrain_config:
        return (f'{where}.init_cfg names the checkpoint {path}, which does '
                'not exist yet: it is written by the pretraining stage, '
                f'`python tools/train.py {pretrain_config}` (or run every '
                'stage with `python tools/demo.py`); or train from scratch '
                f'with {scratch}')
    is_v2 = isinstance(cls, type) and issubclass(cls, MobileViTv2)
    if not (is_v2 or isinstance(cls, type) and issubclass(cls, MobileViT)):
        return (f'{where}.init_cfg names the checkpoint {path}, which does '
                'not exist: download or convert the weights to that path, '
                f'or start from random weights with {scratch}')
    arch = _arg(cls, owner, 'arch')
    if not isinstance(arch, str):
        source = 'SRC'
    elif is_v2:  # ml-cvnets HEAD's MobileViTv2 release
        source = f'mobilevitv2-{arch}.pt'
    else:
        source = _CVNETS_IMAGENET.get(arch, 'SRC')
    others = 'timm' if is_v2 else 'timm / HF / mmpretrain'
    return (f'{where}.init_cfg names the checkpoint {path}, which does not '
            f'exist: convert ImageNet {cls.__name__} weights into it with '
            '`python '
            f'tools/model_converters/mobilevit2mmvit.py {source} {path}` '
            f"({source}: ml-cvnets' release; {others} weights work too, "
            'see README "Pretrained weights"), or train from scratch with '
            f'{scratch}')


# ------------------------------------------------------------ model wiring
def _channels(value) -> Optional[Tuple[int, ...]]:
    if isinstance(value, int):
        return (value, )
    if isinstance(value,
                  (list, tuple)) and all(isinstance(v, int) for v in value):
        return tuple(value)
    return None


def _backbone_channels(backbone: dict, scope) -> Optional[Tuple[int, ...]]:
    """Output channels of a backbone config of a registered family
    (:data:`mmvit.models.backbones.families.FAMILIES`; None for others):
    its class's ``arch_out_channels`` with each of its arguments as the
    config (or the class's default) sets it."""
    from mmvit.models.backbones.families import family_of_class
    cls = _lookup(MODELS, backbone.get('type'), scope)
    if family_of_class(cls) is None:
        return None
    names = inspect.signature(cls.arch_out_channels).parameters
    return cls.arch_out_channels(*(_arg(cls, backbone, n) for n in names))


def _neck_channels(neck: dict, cls, backbone_out) -> Optional[Tuple[int, ...]]:
    """Output channels of an SSDLiteNeck config, or of a pooling neck (the
    backbone's); None for others."""
    from mmvit.models.necks.ssdlite_neck import SSDLiteNeck
    if isinstance(cls, type) and issubclass(cls, SSDLiteNeck):
        return cls.level_channels(
            _arg(cls, neck, 'in_channels', ()),
            _arg(cls, neck, 'extra_channels'),
            _arg(cls, neck, 'global_channels'))
    if getattr(cls, '__name__', None) == 'GlobalAveragePooling':
        return backbone_out
    return None


def _heads(model: dict, key: str) -> Iterator[Tuple[str, dict]]:
    """``(config key, config)`` of ``model[key]``, a head or list of heads."""
    heads = model.get(key)
    if isinstance(heads, dict):
        yield f'model.{key}', heads
    elif isinstance(heads, (list, tuple)):
        for i, head in enumerate(heads):
            if isinstance(head, dict):
                yield f'model.{key}.{i}', head


def _wiring_problems(model: dict, scope) -> List[str]:
    """Neck and head ``in_channels`` against their inputs' channels, where
    those follow from the config (MobileViT backbones, SSDLite necks)."""
    backbone = model.get('backbone')
    backbone_out = _backbone_channels(backbone, scope) if isinstance(
        backbone, dict) else None
    neck = model.get('neck')
    problems = []
    if isinstance(neck, dict):
        neck_cls = _lookup(MODELS, neck.get('type'), scope)
        got = _channels(neck.get('in_channels'))
        # an int may also mean "the last map only" (e.g. mmdet CTResNetNeck)
        if (backbone_out is not None and got is not None
                and (len(got) > 1 or len(backbone_out) == 1)
                and got != backbone_out):
            problems.append(
                f'model.neck.in_channels is {got} but '
                f'{_describe(backbone)} {backbone_out} channels; set '
                f'model.neck.in_channels={backbone_out}')
            return problems  # the head follows the neck: fix that first
        level_out = _neck_channels(neck, neck_cls, backbone_out)
        source = f'model.neck ({neck.get("type")}) outputs'
    else:
        level_out = backbone_out
        source = _describe(backbone) if backbone_out else ''
        if backbone_out is not None:  # mmseg: heads pick a backbone map
            for where, head in (list(_heads(model, 'decode_head')) +
                                list(_heads(model, 'auxiliary_head'))):
                problems += _picked_map_problem(where, head, backbone_out,
                                                source, scope)
    if level_out is not None:
        for where, head in _heads(model, 'bbox_head'):  # mmdet: every level
            problems += _levels_problem(where, head, level_out, source, scope)
        for where, head in _heads(model, 'head'):  # mmpretrain: the last
            problems += _levels_problem(where, head, level_out[-1:], source,
                                        scope)
    return problems


def _describe(backbone: dict) -> str:
    what = [str(backbone.get('type'))] + [
        f'{k}={backbone[k]!r}'
        for k in ('arch', 'out_indices') if k in backbone
    ]
    return f'model.backbone ({", ".join(what)}) outputs'


def _picked_map_problem(where: str, head: dict, backbone_out, source: str,
                        scope) -> List[str]:
    """An mmseg head reading backbone map ``in_index``."""
    cls = _lookup(MODELS, head.get('type'), scope)
    in_channels = _arg(cls, head, 'in_channels')
    in_index = _arg(cls, head, 'in_index', -1)
    if not (isinstance(in_index, int) and isinstance(in_channels, int)):
        return []
    if not -len(backbone_out) <= in_index < len(backbone_out):
        return [
            f'{where}.in_index is {in_index} but {source} '
            f'{len(backbone_out)} maps {backbone_out}; set {where}.in_index '
            f'to one of 0..{len(backbone_out) - 1}'
        ]
    expected = backbone_out[in_index]
    if in_channels == expected:
        return []
    return [
        f'{where}.in_channels is {in_channels} but {source} {backbone_out} '
        f'channels, {expected} at in_index {in_index}; set '
        f'{where}.in_channels={expected}'
    ]


def _levels_problem(where: str, head: dict, level_out: Tuple[int, ...],
                    source: str, scope) -> List[str]:
    """A head's ``in_channels`` (one per level, or one for all) against the
    channels of the levels it reads."""
    cls = _lookup(MODELS, head.get('type'), scope)
    got = _channels(_arg(cls, head, 'in_channels'))
    if got is None:
        return []
    if len(got) == 1:
        got = got * len(level_out)  # one width for every level
    if got == level_out:
        return []
    shown = level_out if len(level_out) > 1 else level_out[0]
    return [
        f'{where}.in_channels is {_arg(cls, head, "in_channels")} but '
        f'{source} {shown} channels; set {where}.in_channels={shown}'
    ]


# ------------------------------------------------------------ class counts
def _dataset_classes(dataset: dict, cls) -> Optional[Tuple[str, ...]]:
    """Class names of a dataset config: its ``metainfo`` (or mmpretrain's
    ``classes``) override, else the class's ``METAINFO``; None when only a
    file names them or nothing does."""
    metainfo = dataset.get('metainfo') or {}
    classes = metainfo.get('classes', dataset.get('classes'))
    if classes is None and isinstance(cls, type):
        classes = (getattr(cls, 'METAINFO', None) or {}).get('classes')
    if classes is None or isinstance(classes, str):
        return None
    return tuple(classes)


def _class_problems(model: dict, leaves, scope) -> List[str]:
    """Head ``num_classes`` against the classes of the datasets used."""
    heads = [
        item for key in ('bbox_head', 'decode_head', 'auxiliary_head', 'head')
        for item in _heads(model, key)
    ]
    roi_head = model.get('roi_head')
    if isinstance(roi_head, dict):
        heads += [(f'model.roi_head.{where[len("model."):]}', head)
                  for where, head in _heads(roi_head, 'bbox_head')]
    problems = []
    for where, head in heads:
        num_classes = _arg(
            _lookup(MODELS, head.get('type'), scope), head, 'num_classes')
        if not isinstance(num_classes, int):
            continue
        for data_where, dataset, cls in leaves:
            classes = _dataset_classes(dataset, cls)
            if classes is None or len(classes) == num_classes:
                continue
            shown = f' {classes}' if len(classes) <= 10 else ''
            name = getattr(cls, '__name__', dataset.get('type'))
            problems.append(
                f'{where}.num_classes is {num_classes} but {data_where} '
                f'({name}) has {len(classes)} classes{shown}; set '
                f'{where}.num_classes={len(classes)} or the dataset\'s '
                'metainfo=dict(classes=...)')
            break
    return problems
