from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmpretrain.models.heads import LinearClsHead

from mmvit.registry import MODELS


@MODELS.register_module()
class DropoutLinearClsHead(LinearClsHead):
    """mmpretrain's linear classifier with dropout on the pooled feature, the
    MobileViT classifier (``pool -> Dropout(0.1) -> Linear``); mmpretrain's
    ``LinearClsHead`` has no dropout and ``StackedLinearClsHead`` only drops
    between hidden layers.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Width of the pooled feature.
        dropout_rate (float): Dropout before the linear layer. Defaults to 0.1.
        init_cfg (dict, optional): Defaults to truncated normal (std 0.02) on
            the linear layer, as ml-cvnets.
        **kwargs: Other arguments of mmpretrain's ``ClsHead`` (``loss``,
            ``topk``, ``cal_acc``).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 dropout_rate: float = 0.1,
                 init_cfg: Optional[dict] = dict(
                     type='TruncNormal', layer='Linear', std=0.02),
                 **kwargs):
        super().__init__(
            num_classes, in_channels, init_cfg=init_cfg, **kwargs)
        if not 0 <= dropout_rate < 1:
            raise ValueError(f'dropout_rate must be in [0, 1), got '
                             f'{dropout_rate}')
        self.dropout = nn.Dropout(dropout_rate)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return self.dropout(feats[-1])
