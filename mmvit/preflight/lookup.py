"""What a config entry builds: its registered class under the config's
scope, and the value each ``__init__`` argument gets."""
import inspect
from typing import Optional


def lookup(registry, name, scope: Optional[str]):
    """The class ``name`` builds under ``scope``, or None if unknown."""
    if isinstance(name, type):
        return name
    if not isinstance(name, str):
        return None
    with registry.switch_scope_and_registry(scope) as scoped:
        return scoped.get(name)


def init_arg(cls, cfg: dict, name: str, default=None):
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
