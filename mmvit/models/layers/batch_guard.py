"""A clear error for BatchNorm on a batch of one image."""
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm


def uses_batch_statistics(module: nn.Module) -> bool:
    """True if some BatchNorm inside ``module`` normalises with the
    statistics of the current batch: one in training mode, or one without
    running statistics. ``_BatchNorm`` covers ``BatchNorm1d/2d/3d``,
    ``SyncBatchNorm`` and mmengine's ``_BatchNormXd`` (what
    ``revert_sync_batchnorm`` builds)."""
    return any(
        isinstance(m, _BatchNorm) and (m.training or m.running_mean is None)
        for m in module.modules())


def check_batch_norm_batch(module: nn.Module, batch_size: int, owner: str,
                           where: str) -> None:
    """Raise a ``ValueError`` naming the fix when ``module`` would normalise
    ``[1, C, 1, 1]`` maps with batch statistics (torch's own error, "Expected
    more than 1 value per channel", names neither the layer nor the fix).

    Args:
        module (nn.Module): The layers that see ``[B, C, 1, 1]`` maps.
        batch_size (int): ``B`` of the input.
        owner (str): The component, for the message (e.g. ``'SSDLite'``).
        where (str): Which of its layers normalise 1x1 maps.

    Raises:
        ValueError: ``batch_size == 1`` and ``module`` uses batch statistics.
    """
    if batch_size == 1 and uses_batch_statistics(module):
        raise ValueError(
            f'{owner} cannot train on a batch of one image: BatchNorm on '
            f'{where} needs more than one value per channel. Use '
            'batch_size >= 2 (per GPU), and train_dataloader.drop_last=True '
            'when the dataset size leaves a last batch of one')
