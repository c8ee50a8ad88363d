"""Runtime fixes that let the pinned OpenMMLab stack run beside torch 2.13 (CPU).

:func:`apply` installs every fix below in one call; ``import mmvit`` (hence any
``import mmvit.*``, ``mmvit.apis`` used by all tools included) calls it. It is
idempotent and imports nothing: each fix runs when the module it fixes is first
imported (or at once, if it already is), so ``import mmvit`` stays cheap and works
without mmdet. The one-line ``mmvit_compat.pth`` that ``tools/install.sh`` drops into
the venv installs the torchvision hook for stock OpenMMLab scripts too. Nothing
here edits installed packages.

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
  (the demo's peer) and mmvit's SSDLite head train but cannot test.
  ``patch_mmdet_ssd_head`` gives the class ``loss_cls = None`` right after
  ``mmdet.models.dense_heads`` is imported.
* mmdet's ``analyze_results.py`` rebuilds a test pipeline from the loading
  steps of the training pipeline, found by exact class, so mmvit's
  ``LoadImageFromFileChecked`` (a ``LoadImageFromFile``) is not one and the
  tool stops ("must include loading image and annotations related
  pipeline"). ``patch_mmdet_loading_pipeline`` makes
  ``get_loading_pipeline`` keep subclasses of the loaders too.
* mmseg 1.2.2's ``SegLocalVisualizer`` draws class names with OpenCV into an
  array laid out like the image it is given; ``browse_dataset.py`` gives it
  a transposed (not C-contiguous) view and OpenCV refuses it ("Layout of the
  output array img is incompatible with cv::Mat", mmseg issue #3405).
  ``patch_mmseg_seg_visualizer`` hands it a C-contiguous copy.
* mmseg 1.2.2's ``get_flops.py`` passes both ``input_shape`` and ``inputs``
  to mmengine's ``get_model_complexity_info``, which refuses that since
  mmengine 0.7 (mmseg issue #3241, fixed after 1.2.2).
  ``patch_mmengine_complexity_info`` accepts the pair when ``inputs`` is one
  batch-1 tensor of exactly ``input_shape`` (nothing is ambiguous then) and
  still refuses any other pair.
* mim 0.3.9 looks for a package's ``.mim`` folder (``mim search`` / ``train``
  / ``test``) next to its ``dist-info``, where an editable install (PEP 660,
  what ``pip install -e .`` makes) has no code; ``patch_mim_installed_path``
  falls back to where the import system finds the package.

The stock scripts bind these functions when they start; the fixes reach them
because ``mmvit_compat.pth`` imports ``mmvit.compat`` (hence ``mmvit``, which
applies everything) when the interpreter starts.
"""

import functools
import importlib
import importlib.abc
import importlib.util
import os
import os.path as osp
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


def _replace(owner, name: str, make_fixed) -> None:
    """``owner.name = make_fixed(original)`` (a module's function or a
    class's method), marked so a second call changes nothing; a package that
    re-exports the original gets the fixed one too."""
    original = getattr(owner, name)
    if getattr(original, '_mmvit_fix', False):
        return
    fixed = functools.wraps(original)(make_fixed(original))
    fixed._mmvit_fix = True
    setattr(owner, name, fixed)
    package = sys.modules.get(
        getattr(owner, '__name__', '').rpartition('.')[0])
    if getattr(package, name, None) is original:
        setattr(package, name, fixed)


def patch_mmdet_loading_pipeline() -> None:
    """``mmdet.datasets.get_loading_pipeline`` keeps the steps whose class is
    mmcv's ``LoadImageFromFile``, mmdet's ``LoadAnnotations`` or a subclass
    of either (idempotent)."""
    from mmcv.transforms import LoadImageFromFile
    from mmdet.datasets.transforms import LoadAnnotations
    from mmdet.registry import TRANSFORMS

    def make_fixed(original):

        def get_loading_pipeline(pipeline):
            loading = []
            for step in pipeline:
                cls = step['type']
                if not isinstance(cls, type):
                    cls = TRANSFORMS.get(cls)
                if isinstance(cls, type) and issubclass(
                        cls, (LoadImageFromFile, LoadAnnotations)):
                    loading.append(step)
            # mmdet's check and message (one image loader, one annotation one)
            assert len(loading) == 2, (
                'The data pipeline in your config file must include loading '
                'image and annotations related pipeline.')
            return loading

        return get_loading_pipeline

    _replace(
        importlib.import_module('mmdet.datasets.utils'),
        'get_loading_pipeline', make_fixed)


def patch_mmseg_seg_visualizer() -> None:
    """``SegLocalVisualizer._draw_sem_seg`` draws on a C-contiguous copy of
    a non-contiguous image (idempotent)."""
    import numpy as np
    from mmseg.visualization.local_visualizer import SegLocalVisualizer

    def make_fixed(original):

        def _draw_sem_seg(self, image, *args, **kwargs):
            return original(self, np.ascontiguousarray(image), *args,
                            **kwargs)

        return _draw_sem_seg

    _replace(SegLocalVisualizer, '_draw_sem_seg', make_fixed)


def patch_mmengine_complexity_info() -> None:
    """mmengine's ``get_model_complexity_info`` accepts ``input_shape``
    beside ``inputs`` when ``inputs`` is one batch-1 tensor of that shape
    (idempotent)."""
    import torch

    def make_fixed(original):

        def get_model_complexity_info(model,
                                      input_shape=None,
                                      inputs=None,
                                      show_table=True,
                                      show_arch=True):
            tensor = inputs[0] if isinstance(inputs, (tuple, list)) and len(
                inputs) == 1 else inputs
            if (input_shape is not None and isinstance(tensor, torch.Tensor)
                    and tuple(tensor.shape) == (1, *input_shape)):
                input_shape = None  # the same input, described twice
            return original(
                model,
                input_shape=input_shape,
                inputs=inputs,
                show_table=show_table,
                show_arch=show_arch)

        return get_model_complexity_info

    _replace(
        importlib.import_module('mmengine.analysis.print_helper'),
        'get_model_complexity_info', make_fixed)


def patch_mim_installed_path() -> None:
    """mim finds a package's ``.mim`` folder (model index, configs, tools)
    next to its ``dist-info``; for an editable install (PEP 660, what
    ``pip install -e .`` makes) the code is elsewhere, so mim's lookup is
    taught to ask the import system then (idempotent)."""
    utils = importlib.import_module('mim.utils.utils')

    def make_fixed(original):

        def get_installed_path(package: str) -> str:
            path = original(package)
            if osp.exists(path):
                return path
            spec = importlib.util.find_spec(utils.package2module(package))
            if spec is not None and spec.submodule_search_locations:
                return list(spec.submodule_search_locations)[0]
            return path

        return get_installed_path

    _replace(utils, 'get_installed_path', make_fixed)


class _FixingLoader(importlib.abc.Loader):
    """Executes a module with its own loader, then runs the fixes of it.
    The module keeps its own loader (``__loader__``, ``__spec__.loader``)."""

    def __init__(self, loader, fixes):
        self.loader = loader
        self.fixes = fixes

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        if getattr(module, '__loader__', None) is self:
            module.__loader__ = self.loader
        spec = getattr(module, '__spec__', None)
        if spec is not None and spec.loader is self:
            spec.loader = self.loader
        self.loader.exec_module(module)
        for fix in self.fixes:
            fix()

    def __getattr__(self, name):  # get_source, get_filename, is_package, ...
        return getattr(self.loader, name)


class _PostImportFinder(importlib.abc.MetaPathFinder):
    """Runs fixes right after named modules are first imported."""

    def __init__(self):
        self.fixes = {}  # module name -> fixes to run once it is executed

    def add(self, name: str, fix) -> None:
        if name in sys.modules:  # already imported: fix it now
            fix()
        elif fix not in self.fixes.setdefault(name, []):
            self.fixes[name].append(fix)

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.fixes:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None  # not installed: nothing to fix
        if spec.loader is None or not hasattr(spec.loader, 'exec_module'):
            return spec
        spec.loader = _FixingLoader(spec.loader, self.fixes.pop(fullname))
        return spec


def _post_import_finder() -> _PostImportFinder:
    for finder in sys.meta_path:
        if isinstance(finder, _PostImportFinder):
            return finder
    finder = _PostImportFinder()
    sys.meta_path.insert(0, finder)
    return finder


def apply() -> None:
    """Install every runtime fix of this module (idempotent, imports
    nothing): the torchvision hook, the safe checkpoint loader (when
    ``mmengine.runner.checkpoint`` is imported), the ``SSDHead`` patch
    (when ``mmdet.models.dense_heads`` is imported; never without mmdet) and
    the analysis-tool and mim fixes (each when the module it fixes is
    imported)."""
    install_torchvision_hook()
    finder = _post_import_finder()
    finder.add('mmengine.runner.checkpoint', install_checkpoint_loader)
    finder.add('mmdet.models.dense_heads', patch_mmdet_ssd_head)
    finder.add('mmdet.datasets.utils', patch_mmdet_loading_pipeline)
    finder.add('mmseg.visualization.local_visualizer',
               patch_mmseg_seg_visualizer)
    finder.add('mmengine.analysis.print_helper',
               patch_mmengine_complexity_info)
    finder.add('mim.utils.utils', patch_mim_installed_path)
