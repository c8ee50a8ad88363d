"""Runtime fixes that let the pinned OpenMMLab stack run beside torch 2.13 (CPU).

Everything here is applied by ``import mmvit`` (and, for the torchvision hook, by the
one-line ``mmvit_compat.pth`` that ``tools/install.sh`` drops into the venv so that
stock OpenMMLab scripts benefit too). Nothing here edits installed packages.

* PyPI's ``torchvision==0.28.0`` is a CUDA build: beside the CPU torch its ``_C.so``
  cannot load, and ``torchvision/_meta_registrations.py`` then registers fake kernels
  for two operators that were never defined (``RuntimeError: operator torchvision::nms
  does not exist``), which breaks ``import mmpretrain.models`` and, through it,
  ``import mmdet.models``. Defining the two schemas before the first
  ``import torchvision`` is enough; torchvision's compiled ops stay unavailable
  (mmcv.ops provides NMS / RoIAlign on CPU).
"""
import importlib.abc
import importlib.util
import os
import sys

_TV_LIBRARY = None  # keep a reference, or torch drops the definitions


def _define_missing_torchvision_schemas() -> None:
    global _TV_LIBRARY
    if _TV_LIBRARY is not None:
        return
    import torch
    try:
        torch.ops.torchvision.nms.default  # a working torchvision build
        return
    except (AttributeError, RuntimeError):
        pass
    spec = importlib.util.find_spec('torchvision')
    if spec is None or spec.origin is None:
        return
    try:
        torch.ops.load_library(
            os.path.join(os.path.dirname(spec.origin), '_C.so'))
        return  # its compiled ops load: nothing to fix
    except Exception:  # noqa: BLE001 - any load failure means "define them"
        pass
    _TV_LIBRARY = torch.library.Library('torchvision', 'DEF')
    for op in ('nms', 'qnms'):
        _TV_LIBRARY.define(
            f'{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')


class _TorchvisionFinder(importlib.abc.MetaPathFinder):
    """Runs the fix just before ``torchvision`` is first imported, then steps aside."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == 'torchvision':
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            _define_missing_torchvision_schemas()
        return None  # let the normal finders import it


def install_torchvision_hook() -> None:
    """Install the lazy torchvision fix (idempotent; imports nothing now)."""
    if 'torchvision' in sys.modules:
        return
    if not any(isinstance(f, _TorchvisionFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _TorchvisionFinder())


def apply() -> None:
    """Apply every fix of this module (idempotent)."""
    install_torchvision_hook()
