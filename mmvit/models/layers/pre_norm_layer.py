"""What the transformer layers of both MobileViT versions share apart from
their attention: the pre-norm residual structure

``x + DropPath(Dropout(attn(norm1(x))))`` then
``x + DropPath(Dropout(ffn(norm2(x))))``, ``ffn = proj -> act -> Dropout ->
proj``,

and its dropout rates (:class:`DropRates`), one set that a backbone passes
down through its blocks. v1 (:class:`~.transformer.TransformerEncoderLayer`)
projects tokens ``[B*P, N, d]`` with linear layers, v2
(:class:`~.separable_self_attention.SeparableTransformerLayer`) maps
``[B, d, H, W]`` with 1x1 convolutions.
"""
import dataclasses
from typing import Callable, Optional

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer
from mmcv.cnn.bricks import DropPath


@dataclasses.dataclass(frozen=True)
class DropRates:
    """The dropout rates of the transformer layers of a backbone.

    Args:
        drop_rate (float): Dropout after the attention and after the FFN.
            Defaults to 0.
        attn_drop_rate (float): Dropout on the attention weights (v1) or on
            the context scores (v2). Defaults to 0.
        ffn_drop_rate (float): Dropout inside the FFN. Defaults to 0.
        drop_path_rate (float): Stochastic depth on both residual branches.
            Defaults to 0.
    """
    drop_rate: float = 0.
    attn_drop_rate: float = 0.
    ffn_drop_rate: float = 0.
    drop_path_rate: float = 0.

    def __post_init__(self):
        for field in dataclasses.fields(self):
            rate = getattr(self, field.name)
            if not 0 <= rate < 1:
                raise ValueError(f'{field.name} must be in [0, 1), got '
                                 f'{rate!r}')


def build_ffn(proj: Callable[[int, int], nn.Module], embed_dims: int,
              feedforward_channels: int, act_cfg: Optional[dict],
              drop_rate: float) -> nn.Sequential:
    """``proj(d, hidden) -> act -> Dropout -> proj(hidden, d)``; ``proj``
    is ``nn.Linear`` for tokens, a 1x1 convolution for maps."""
    return nn.Sequential(
        proj(embed_dims, feedforward_channels),
        build_activation_layer(act_cfg),
        nn.Dropout(drop_rate),
        proj(feedforward_channels, embed_dims),
    )


class PreNormTransformerLayer(nn.Module):
    """Base of the pre-norm transformer layers: a subclass builds its two
    norms, ``attn`` and ``ffn``, and its ``forward`` calls
    :meth:`_residuals` with its norms (v1 names them ``ln1`` / ``ln2``, v2
    ``norm1`` / ``norm2``: the checkpoints' keys).

    Args:
        drop_rates (DropRates): ``drop_rate`` after each branch and
            ``drop_path_rate`` on each branch; the subclass uses the other
            two.
    """

    def __init__(self, drop_rates: DropRates):
        super().__init__()
        self.dropout = nn.Dropout(drop_rates.drop_rate)
        self.drop_path = DropPath(
            drop_rates.drop_path_rate
        ) if drop_rates.drop_path_rate > 0 else nn.Identity()

    def _residuals(self, x: torch.Tensor, norm1: nn.Module,
                   norm2: nn.Module) -> torch.Tensor:
        x = x + self.drop_path(self.dropout(self.attn(norm1(x))))
        x = x + self.drop_path(self.dropout(self.ffn(norm2(x))))
        return x
