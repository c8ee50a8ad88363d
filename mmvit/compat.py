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
* torch >= 2.6 loads checkpoints with ``weights_only=True``, which refuses the
  training state mmengine saves (``HistoryBuffer`` and numpy arrays of the
  message hub), so ``--resume`` and ``load_from`` fail. mmvit keeps the safe
  loader and allows exactly those few types (no pickled code can run);
  ``MMVIT_UNSAFE_CHECKPOINTS=1`` falls back to a full unpickle for
  checkpoints you trust that hold other types.
* mmdet 3.3's ``SSDHead`` never sets ``loss_cls``, which its own
  ``predict`` path reads (``AttributeError``): mmdet's SSD / SSDLite models
  (the demo's peer) train but cannot test. ``patch_mmdet_ssd_head`` gives the
  class ``loss_cls = None`` (what mmvit's SSDLite head sets); it runs where
  mmdet is imported anyway (``mmvit.models.dense_heads``).
"""

import importlib.abc
import importlib.util
import os
import pickle
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


def _runner_checkpoint_globals() -> list:
    import numpy as np
    from mmengine.logging import HistoryBuffer
    from numpy.core.multiarray import _reconstruct, scalar
    # HistoryBuffer pickles its statistics methods as getattr(cls, name);
    # the safe unpickler still refuses to call anything not listed here.
    return [
        HistoryBuffer, getattr, np.ndarray, np.dtype, _reconstruct, scalar,
        *{type(np.dtype(c)) for c in np.typecodes['All']}
    ]


def load_local_checkpoint(filename: str, map_location=None):
    """mmengine's local checkpoint loader with ``weights_only=True`` and the
    types of mmengine's own training state allowed."""
    import torch
    filename = os.path.expanduser(filename)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f'checkpoint not found: {filename}')
    try:
        with torch.serialization.safe_globals(_runner_checkpoint_globals()):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if os.environ.get('MMVIT_UNSAFE_CHECKPOINTS') == '1':
            return torch.load(
                filename, map_location=map_location, weights_only=False)
        raise pickle.UnpicklingError(
            f'{filename} holds objects that a safe load refuses (see below). '
            'If you trust this file, set MMVIT_UNSAFE_CHECKPOINTS=1 to load '
            f'it fully.\n{err}') from None


def install_checkpoint_loader() -> None:
    """Route mmengine's local-file checkpoint loads through
    :func:`load_local_checkpoint` (idempotent)."""
    from mmengine.runner.checkpoint import CheckpointLoader
    if CheckpointLoader._schemes.get('') is not load_local_checkpoint:
        CheckpointLoader.register_scheme(
            prefixes='', loader=load_local_checkpoint, force=True)


def patch_mmdet_ssd_head() -> None:
    """``SSDHead.loss_cls = None`` unless mmdet defines it (idempotent)."""
    from mmdet.models.dense_heads import SSDHead
    if 'loss_cls' not in vars(SSDHead):
        SSDHead.loss_cls = None


def apply() -> None:
    """Apply the import-free fixes of this module (idempotent); the
    checkpoint loader is installed by ``mmvit.models`` and the tools."""
    install_torchvision_hook()
