"""Two-way renaming of state-dict keys by templates.

A :class:`KeyRule` pairs a source template with an mmvit template, e.g.
``'layer_{s}.1.fusion.block.norm.{t}'`` <->
``'layer{s}.1.conv_fusion.bn.{t}'``.
Placeholders match one dotted component: ``{t}`` a parameter or buffer name
(``weight``, ``running_mean``, ...), any other name an integer. A part in
square brackets is optional on reading and left out on writing:
``'seg_head.classifier[.classifier].block.conv.{t}'`` reads both the nested
and the flat key and writes the flat one. The same rule renames both ways, so
a converter and its inverse cannot drift apart.
"""
import re
from collections import OrderedDict
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import torch

_FIELD = re.compile(r'\{(\w+)\}')
# a `{field}` or an optional `[literal part]` of a template
_TOKEN = re.compile(r'\{(?P<field>\w+)\}|\[(?P<optional>[^\[\]{}]*)\]')
_OPTIONAL = re.compile(r'\[[^\[\]{}]*\]')
_LEAF = r'[A-Za-z_]+'
_INDEX = r'-?\d+'

# field -> (source value -> mmvit value, mmvit value -> source value)
FieldMaps = Dict[str, Tuple[Callable[[int], int], Callable[[int], int]]]
# field -> function of (the other fields, context) for a field that exists on
# the mmvit side only, e.g. the index of the final LayerNorm of a stage
Derived = Dict[str, Callable[[Dict[str, int], dict], int]]


class _Template:

    def __init__(self, template: str):
        self.template = template
        parts, pos = [], 0
        for match in _TOKEN.finditer(template):
            parts.append(re.escape(template[pos:match.start()]))
            name, optional = match.group('field'), match.group('optional')
            if name is not None:
                kind = _LEAF if name == 't' else _INDEX
                parts.append(f'(?P<{name}>{kind})')
            else:
                parts.append(f'(?:{re.escape(optional)})?')
            pos = match.end()
        parts.append(re.escape(template[pos:]))
        if any(c in _TOKEN.sub('', template) for c in '[]{}'):
            raise ValueError(
                f'bad key template {template!r}: an optional part is a '
                "literal in square brackets, e.g. '[.classifier]', and holds "
                'no {field}')
        self.regex = re.compile(''.join(parts))
        self.fields = _FIELD.findall(template)
        # what is written: the template without its optional parts
        self.written = _OPTIONAL.sub('', template)

    def match(self, key: str) -> Optional[Dict[str, str]]:
        found = self.regex.fullmatch(key)
        return None if found is None else found.groupdict()

    def format(self, values: Dict[str, str]) -> str:
        return self.written.format(**values)


class KeyRule:
    """One template pair ``src`` (a public layout) <-> ``dst`` (mmvit).

    Args:
        src (str): Template of the source key.
        dst (str): Template of the mmvit key.
        maps (dict, optional): Integer fields numbered differently on the two
            sides: ``field -> (to_mmvit, to_src)``. Defaults to None.
        derived (dict, optional): Fields found only in ``dst``, computed from
            the other fields and a context. Defaults to None.
    """

    def __init__(self,
                 src: str,
                 dst: str,
                 maps: Optional[FieldMaps] = None,
                 derived: Optional[Derived] = None):
        self.src, self.dst = _Template(src), _Template(dst)
        self.maps = maps or {}
        self.derived = derived or {}
        missing = set(self.dst.fields) - set(self.src.fields) - set(
            self.derived)
        if missing:
            raise ValueError(f'{dst!r} has fields {sorted(missing)} that '
                             f'{src!r} does not give')

    def _apply(self, key: str, forward: bool, context: dict) -> Optional[str]:
        source, target = (self.src, self.dst) if forward else (self.dst,
                                                               self.src)
        values = source.match(key)
        if values is None:
            return None
        ints = {k: int(v) for k, v in values.items() if k != 't'}
        for name, (to_mmvit, to_src) in self.maps.items():
            if name in ints:
                ints[name] = (to_mmvit if forward else to_src)(ints[name])
        if forward:
            for name, derive in self.derived.items():
                ints[name] = derive(ints, context)
        else:  # a derived field must sit where the context says
            for name, derive in self.derived.items():
                if ints.get(name) != derive(ints, context):
                    return None
        out = {k: str(v) for k, v in ints.items()}
        if 't' in values:
            out['t'] = values['t']
        return target.format(out)

    def to_mmvit(self, key: str, context: dict) -> Optional[str]:
        return self._apply(key, True, context)

    def from_mmvit(self, key: str, context: dict) -> Optional[str]:
        return self._apply(key, False, context)


def prefixed(rules: Iterable[KeyRule], src: str, dst: str) -> List[KeyRule]:
    """The same rules under a prefix on each side (``'encoder.'`` ->
    ``'backbone.'``)."""
    return [
        KeyRule(src + r.src.template, dst + r.dst.template, r.maps, r.derived)
        for r in rules
    ]


def rename_keys(keys: Iterable[str],
                rules: List[KeyRule],
                context: dict,
                forward: bool = True) -> Tuple[Dict[str, str], List[str]]:
    """Map every key through the first rule that matches it.

    Returns ``({old: new}, [keys no rule matched])``; the caller decides how
    to report the unmatched ones (nothing is dropped silently here).
    """
    renamed, unmatched = {}, []
    for key in keys:
        for rule in rules:
            new = (
                rule.to_mmvit(key, context) if forward else rule.from_mmvit(
                    key, context))
            if new is not None:
                renamed[key] = new
                break
        else:
            unmatched.append(key)
    return renamed, unmatched


def apply_rules(state_dict: Dict[str, torch.Tensor], rules: List[KeyRule],
                context: dict, what: str) -> 'OrderedDict[str, torch.Tensor]':
    """``state_dict`` with every key renamed to mmvit's by ``rules`` (tensors
    shared, order kept).

    Raises a ``ValueError`` naming ``what`` (e.g. ``'cvnets detector'``) when
    a key has no rule, or when two keys would land on one mmvit key (the file
    holds two layouts of the same weights): nothing is dropped silently.
    """
    renamed, unmatched = rename_keys(state_dict, rules, context)
    if unmatched:
        raise ValueError(
            f'{len(unmatched)} key(s) of this {what} checkpoint have no '
            f'place in mmvit: {unmatched[:10]}')
    sources = {}  # mmvit key -> the source keys that map to it
    for key, target in renamed.items():
        sources.setdefault(target, []).append(key)
    clashes = {t: keys for t, keys in sources.items() if len(keys) > 1}
    if clashes:
        listed = '; '.join(f'{" and ".join(keys)} -> {target}'
                           for target, keys in list(clashes.items())[:10])
        raise ValueError(
            f'{len(clashes)} mmvit key(s) would get more than one tensor of '
            f'this {what} checkpoint ({listed}); it holds two layouts of the '
            'same weights: keep one of them')
    return OrderedDict((renamed[k], v) for k, v in state_dict.items())
