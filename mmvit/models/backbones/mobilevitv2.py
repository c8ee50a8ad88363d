"""MobileViTv2 backbone (Mehta & Rastegari, "Separable Self-attention for
Mobile Vision Transformers", TMLR 2023), faithful to ml-cvnets.

Seven widths, all derived from one width-1.0 table by ml-cvnets' rounding
rules. The interface is :class:`~mmvit.models.backbones.MobileViT`'s: five
stage outputs (v2 has no 1x1 expansion layer before the classifier), output
stride 32 / 16 / 8 with ml-cvnets' dilation rule, ``frozen_stages``,
``norm_eval``, ``with_cp``, ``conv_cfg`` / ``norm_cfg`` / ``act_cfg`` passed
all the way down, stages after the deepest output built but neither run nor
trained.
"""
import dataclasses
import numbers
from typing import ClassVar, Dict, Sequence, Tuple, Union

import torch
import torch.nn as nn

from mmvit.registry import MODELS
from ..layers import MobileViTv2Block, make_divisible
from .base import MobileViTStages, StageSettingBase, released_setting

# ml-cvnets sizes the FFN of its transformer layers down to a multiple of 16
_FFN_DIVISOR = 16


@dataclasses.dataclass(frozen=True)
class StageSettingV2(StageSettingBase):
    """One stage of MobileViTv2: a run of MV2 blocks (``block='mv2'``) or one
    down-sampling MV2 block followed by a MobileViTv2 block
    (``block='mobilevitv2'``, which needs ``embed_dims`` and
    ``num_transformer_blocks``). The fields of
    :class:`~mmvit.models.backbones.base.StageSettingBase`, with
    ``expand_ratio`` 2 by default, and ``ffn_ratio``: ``feedforward_channels``
    left out is ``ffn_ratio * embed_dims`` rounded down to a multiple of 16,
    as in ml-cvnets (defaults to 2).
    """
    _: dataclasses.KW_ONLY
    expand_ratio: float = 2.
    ffn_ratio: float = 2.

    attn_block: ClassVar[str] = 'mobilevitv2'

    def __post_init__(self):
        super().__post_init__()
        if self.block == 'mobilevitv2' and self.feedforward_channels is None:
            channels = int(self.ffn_ratio * self.embed_dims)
            object.__setattr__(self, 'feedforward_channels',
                               channels // _FFN_DIVISOR * _FFN_DIVISOR)


# MobileViTv2 at width 1.0 (ml-cvnets `config/mobilevit_v2.py`): MV2
# expansion 2, FFN ratio 2, 2x2 patches; every width is derived from it.
_BASE_STEM_CHANNELS = 32
_BASE_STAGES = (
    StageSettingV2('mv2', out_channels=64, stride=1, num_blocks=1),
    StageSettingV2('mv2', out_channels=128, stride=2, num_blocks=2),
    StageSettingV2(
        'mobilevitv2',
        out_channels=256,
        stride=2,
        embed_dims=128,
        num_transformer_blocks=2),
    StageSettingV2(
        'mobilevitv2',
        out_channels=384,
        stride=2,
        embed_dims=192,
        num_transformer_blocks=4),
    StageSettingV2(
        'mobilevitv2',
        out_channels=512,
        stride=2,
        embed_dims=256,
        num_transformer_blocks=3),
)


def scaled_arch(widen_factor: float) -> dict:
    """Stem width and stages of MobileViTv2 at ``widen_factor``, by
    ml-cvnets' rules: the stem is ``32 * widen_factor`` clipped to [16, 64]
    and rounded to a multiple of 8 (at least 16); stage 0 is rounded to a
    multiple of 16, every other stage width and attention width to a
    multiple of 8 (never more than 10% down)."""
    if (not isinstance(widen_factor, numbers.Real)
            or isinstance(widen_factor, bool) or widen_factor <= 0):
        raise ValueError(f'widen_factor must be a positive number, got '
                         f'{widen_factor!r}')
    stem = min(max(_BASE_STEM_CHANNELS * widen_factor, 16), 64)
    stages = []
    for i, stage in enumerate(_BASE_STAGES):
        channels = stage.out_channels * widen_factor
        changes = dict(
            out_channels=make_divisible(channels, 16 if i == 0 else 8))
        if stage.block == 'mobilevitv2':
            changes.update(
                embed_dims=make_divisible(stage.embed_dims * widen_factor, 8),
                feedforward_channels=None)  # derived from the new width
        stages.append(dataclasses.replace(stage, **changes))
    return dict(
        widen_factor=float(widen_factor),
        stem_channels=make_divisible(stem, 8, min_value=16),
        stages=tuple(stages))


#: The released widths: key -> ``dict(widen_factor, stem_channels, stages)``.
#: The key is the width as in ml-cvnets' and timm's names
#: (``mobilevitv2-1.0.pt``, ``mobilevitv2_100``).
ARCH_SETTINGS: Dict[str, dict] = {
    key: scaled_arch(float(key))
    for key in ('0.5', '0.75', '1.0', '1.25', '1.5', '1.75', '2.0')
}


def timm_name(arch: str) -> str:
    """timm's model name of ``arch``: ``'1.0'`` -> ``'mobilevitv2_100'``."""
    released_setting('MobileViTv2', ARCH_SETTINGS, arch)
    return f'mobilevitv2_{round(100 * float(arch)):03d}'


@MODELS.register_module()
class MobileViTv2(MobileViTStages):
    """MobileViTv2 backbone.

    Args:
        arch (str | float | list[dict]): A released width (``'0.5'``,
            ``'0.75'``, ``'1.0'``, ``'1.25'``, ``'1.5'``, ``'1.75'``,
            ``'2.0'``), any other positive width multiplier as a number (the
            same rounding rules, see :func:`scaled_arch`), or five per-stage
            dicts with the fields of :class:`StageSettingV2` (``block``,
            ``out_channels``, ``stride``, ``expand_ratio``, ``num_blocks``,
            ``embed_dims``, ``feedforward_channels``,
            ``num_transformer_blocks``, ``patch_size``, ``ffn_ratio``).
            Defaults to ``'1.0'``.
        attn_norm_cfg (dict): Norm of the transformer layers, on
            ``[B, d, P, N]`` tokens. Defaults to
            ``dict(type='GN', num_groups=1)`` (ml-cvnets' ``layer_norm_2d``).
        **kwargs: The arguments every MobileViT backbone takes, see
            :class:`~mmvit.models.backbones.base.MobileViTStages`:
            ``in_channels``, ``stem_channels`` (None takes the arch's, 32
            for a custom stage list), ``out_indices`` (0-4, the five stages:
            there is no expansion layer before the classifier; defaults to
            ``(4, )``), ``out_stride`` (a dilated stage's MobileViTv2 block
            dilates its depthwise conv too), ``drop_rate`` (None takes
            ml-cvnets' recipes: 0), ``attn_drop_rate``, ``ffn_drop_rate``,
            ``drop_path_rate``, ``frozen_stages``, ``norm_eval``,
            ``with_cp``, ``conv_cfg``, ``norm_cfg``, ``act_cfg`` and
            ``init_cfg``.
    """
    arch_settings = ARCH_SETTINGS
    stage_setting = StageSettingV2
    # an arch without them (a custom stage list): width 1.0's stem, and
    # ml-cvnets' recipes (no dropout)
    arch_defaults = dict(stem_channels=_BASE_STEM_CHANNELS, drop_rate=0.)
    outputs_help = ('the five stages; MobileViTv2 has no expansion layer, '
                    f'so no index {MobileViTStages.num_stages}')
    arch_help = (', or a width multiplier as a number, or a list of 5 stage '
                 'dicts')

    def __init__(self,
                 arch: Union[str, float, Sequence[dict]] = '1.0',
                 *,
                 attn_norm_cfg: dict = dict(type='GN', num_groups=1),
                 **kwargs):
        super().__init__(arch, **kwargs)
        self.attn_norm_cfg = attn_norm_cfg
        self._build_stages()

    @classmethod
    def _parse_arch(cls, arch: Union[str, float, Sequence[dict]]) -> dict:
        """A key, a width multiplier or a stage list; see the base."""
        if isinstance(arch, numbers.Real) and not isinstance(arch, bool):
            return {**cls.arch_defaults, **scaled_arch(arch)}
        return super()._parse_arch(arch)

    def _make_block(self, stage: StageSettingV2, dilation: int) -> nn.Module:
        # unlike v1, the MobileViTv2 block's depthwise conv is dilated too
        return MobileViTv2Block(
            dilation=dilation,
            attn_norm_cfg=self.attn_norm_cfg,
            **self._block_args(stage))

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        outs, _ = self._forward_stages(x)
        return tuple(outs)
