"""Model wiring of a config: neck / head ``in_channels`` against what the
module before them outputs (the registered backbone families, SSDLite
necks), and head ``num_classes`` against the dataset's classes."""
import inspect
from typing import Iterator, List, Optional, Tuple

from mmengine.registry import MODELS

from .lookup import init_arg, lookup


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
    cls = lookup(MODELS, backbone.get('type'), scope)
    if family_of_class(cls) is None:
        return None
    names = inspect.signature(cls.arch_out_channels).parameters
    return cls.arch_out_channels(*(init_arg(cls, backbone, n) for n in names))


def _neck_channels(neck: dict, cls, backbone_out) -> Optional[Tuple[int, ...]]:
    """Output channels of an SSDLiteNeck config, or of a pooling neck (the
    backbone's); None for others."""
    from mmvit.models.necks.ssdlite_neck import SSDLiteNeck
    if isinstance(cls, type) and issubclass(cls, SSDLiteNeck):
        return cls.level_channels(
            init_arg(cls, neck, 'in_channels', ()),
            init_arg(cls, neck, 'extra_channels'),
            init_arg(cls, neck, 'global_channels'))
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


def wiring_problems(model: dict, scope) -> List[str]:
    """Neck and head ``in_channels`` against their inputs' channels, where
    those follow from the config (MobileViT backbones, SSDLite necks)."""
    backbone = model.get('backbone')
    backbone_out = _backbone_channels(backbone, scope) if isinstance(
        backbone, dict) else None
    neck = model.get('neck')
    problems = []
    if isinstance(neck, dict):
        neck_cls = lookup(MODELS, neck.get('type'), scope)
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
    cls = lookup(MODELS, head.get('type'), scope)
    in_channels = init_arg(cls, head, 'in_channels')
    in_index = init_arg(cls, head, 'in_index', -1)
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
    cls = lookup(MODELS, head.get('type'), scope)
    got = _channels(init_arg(cls, head, 'in_channels'))
    if got is None:
        return []
    if len(got) == 1:
        got = got * len(level_out)  # one width for every level
    if got == level_out:
        return []
    shown = level_out if len(level_out) > 1 else level_out[0]
    return [
        f'{where}.in_channels is {init_arg(cls, head, "in_channels")} but '
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


def class_problems(model: dict, leaves, scope) -> List[str]:
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
        num_classes = init_arg(
            lookup(MODELS, head.get('type'), scope), head, 'num_classes')
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
