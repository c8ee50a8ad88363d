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

One module per kind of check: :mod:`.data` (files and checkpoints),
:mod:`.wiring` (channels and classes); :mod:`.lookup` resolves a config
entry's class and arguments for both.

Without it the same mistakes end in a stack trace from pycocotools or
mmengine, some only after the model is built and the data indexed.
"""
from mmengine.config import Config
from mmengine.registry import DATASETS

from .data import leaf_datasets, missing_checkpoints, missing_data
from .lookup import lookup
from .wiring import class_problems, wiring_problems

__all__ = ['check_config']

# The loops mmengine's Runner builds for a command, as (dataloader,
# evaluator, loop) keys; a loop is built only when all its keys are set.
_RUN_PARTS = {
    'train': (('train_dataloader', None, 'train_cfg'),
              ('val_dataloader', 'val_evaluator', 'val_cfg')),
    'val': (('val_dataloader', 'val_evaluator', 'val_cfg'), ),
    'test': (('test_dataloader', 'test_evaluator', 'test_cfg'), ),
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
    leaves = [(where, dataset, lookup(DATASETS, dataset.get('type'), scope))
              for loader, _ in parts for where, dataset in leaf_datasets(
                  cfg[loader].get('dataset'), f'{loader}.dataset')]
    model = cfg.get('model')
    model = model if isinstance(model, dict) else {}

    missing = missing_data(cfg, parts, leaves, scope)
    if mode == 'train':  # a test run loads a whole checkpoint instead
        missing += missing_checkpoints(model, 'model', scope,
                                       cfg.get('pretrain_config'))
    if missing:
        raise FileNotFoundError('\n'.join(missing))

    wrong = wiring_problems(model, scope) + class_problems(
        model, leaves, scope)
    if wrong:
        raise ValueError('\n'.join(wrong))
