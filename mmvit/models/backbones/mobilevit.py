"""MobileViT v1 backbone (Mehta & Rastegari, ICLR 2022), faithful to ml-cvnets.

Unlike mmpretrain's ``MobileViT`` it exposes the layer-5 map before the 1x1
expansion (what SSDLite and DeepLabv3 use), supports output stride 16 / 8 with
ml-cvnets' dilation rule, freezes the stem, honours ``norm_eval``, passes
``conv_cfg``/``norm_cfg``/``act_cfg`` all the way down, and never mutates the
caller's ``out_indices``.
"""
import dataclasses
from typing import ClassVar, Dict, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from mmvit.registry import MODELS
from ..layers import MobileViTBlock
from .base import MobileViTStages, StageSettingBase, released_setting


@dataclasses.dataclass(frozen=True)
class StageSetting(StageSettingBase):
    """One stage of MobileViT: a run of MV2 blocks (``block='mv2'``) or one
    down-sampling MV2 block followed by a MobileViT block
    (``block='mobilevit'``, which needs ``embed_dims``,
    ``feedforward_channels`` and ``num_transformer_blocks``). The fields of
    :class:`~mmvit.models.backbones.base.StageSettingBase` and ``num_heads``
    (attention heads, defaults to 4)."""
    _: dataclasses.KW_ONLY
    num_heads: int = 4

    attn_block: ClassVar[str] = 'mobilevit'
    required: ClassVar[Tuple[str, ...]] = ('embed_dims',
                                           'feedforward_channels',
                                           'num_transformer_blocks')


def _arch(*, short_name: str, drop_rate: float, expand_ratio: float,
          channels: Tuple[int, ...], embed_dims: Tuple[int, ...]) -> dict:
    """One row of Table 4: a stride-1 MV2 block, three stride-2 MV2 blocks,
    then three stages of a stride-2 MV2 block and a MobileViT block of 2, 4
    and 3 transformer layers (FFN width 2d, 4 heads, 2x2 patches)."""
    mv2 = [
        StageSetting('mv2', out_channels=channels[0], stride=1,
                     expand_ratio=expand_ratio),
        StageSetting('mv2', out_channels=channels[1], stride=2,
                     expand_ratio=expand_ratio, num_blocks=3),
    ]
    vit = [
        StageSetting(
            'mobilevit',
            out_channels=out_channels,
            stride=2,
            expand_ratio=expand_ratio,
            embed_dims=dims,
            feedforward_channels=2 * dims,
            num_transformer_blocks=depth)
        for out_channels, dims, depth in zip(channels[2:], embed_dims,
                                             (2, 4, 3))
    ]
    return dict(
        short_name=short_name, drop_rate=drop_rate, stages=tuple(mv2 + vit))


# Table 4 of the paper / ml-cvnets `config/mobilevit.py`: stage widths and
# token widths. `short_name` is the variant's name in config files
# (`ssdlite_mobilevit_s_coco.py`), in timm (`mobilevit_s`) and in the paper
# (S / XS / XXS); `drop_rate` is the recipe's transformer dropout.
# yapf: disable
ARCH_SETTINGS: Dict[str, dict] = dict(
    small=_arch(short_name='s', drop_rate=0.1, expand_ratio=4,
                channels=(32, 64, 96, 128, 160), embed_dims=(144, 192, 240)),
    x_small=_arch(short_name='xs', drop_rate=0.1, expand_ratio=4,
                  channels=(32, 48, 64, 80, 96), embed_dims=(96, 120, 144)),
    xx_small=_arch(short_name='xxs', drop_rate=0.05, expand_ratio=2,
                   channels=(16, 24, 48, 64, 80), embed_dims=(64, 80, 96)),
)
# yapf: enable


def short_name(arch: str) -> str:
    """``'s'``, ``'xs'`` or ``'xxs'``: the name of ``arch`` in config files
    and in timm (``mobilevit_{short_name}``)."""
    return released_setting('MobileViT', ARCH_SETTINGS, arch)['short_name']


@MODELS.register_module()
class MobileViT(MobileViTStages):
    """MobileViT v1 backbone.

    Args:
        arch (str | list[dict]): ``'small'``, ``'x_small'``, ``'xx_small'``
            or five per-stage dicts with the fields of :class:`StageSetting`
            (``block``, ``out_channels``, ``stride``, ``expand_ratio``,
            ``num_blocks``, ``embed_dims``, ``feedforward_channels``,
            ``num_transformer_blocks``, ``patch_size``, ``num_heads``).
            Defaults to ``'small'``.
        last_exp_factor (int): Expansion layer width is
            ``min(last_exp_factor * C5, 960)``. Defaults to 4.
        **kwargs: The arguments every MobileViT backbone takes, see
            :class:`~mmvit.models.backbones.base.MobileViTStages`:
            ``in_channels``, ``stem_channels`` (16 when None),
            ``out_indices`` (0-4 the stages, 5 the 1x1 expansion layer,
            built only when requested; defaults to ``(4, )``),
            ``out_stride`` (MobileViT blocks are never dilated, as in
            ml-cvnets), ``drop_rate`` (None takes the recipe's: 0.1 for
            small / x_small, 0.05 for xx_small), ``attn_drop_rate``,
            ``ffn_drop_rate``, ``drop_path_rate``, ``frozen_stages``,
            ``norm_eval``, ``with_cp``, ``conv_cfg``, ``norm_cfg``,
            ``act_cfg`` and ``init_cfg``.
    """
    arch_settings = ARCH_SETTINGS
    stage_setting = StageSetting
    # a custom stage list: the stem and dropout of the released archs
    arch_defaults = dict(stem_channels=16, drop_rate=0.1)
    num_outputs = MobileViTStages.num_stages + 1
    outputs_help = '0-4 stages, 5 expansion layer'

    def __init__(self,
                 arch: Union[str, Sequence[dict]] = 'small',
                 *,
                 last_exp_factor: int = 4,
                 **kwargs):
        super().__init__(arch, **kwargs)
        channels = self.stage_settings[-1].out_channels
        exp_channels = self._exp_channels(channels, last_exp_factor)
        self._build_stages(extra_channels=(exp_channels, ))
        if self.num_stages in self.out_indices:
            self.conv_1x1_exp = ConvModule(channels, exp_channels, 1,
                                           **self.layer_cfgs)

    @classmethod
    def arch_out_channels(cls, arch: Union[str, Sequence[dict]],
                          out_indices: Sequence[int],
                          last_exp_factor: int) -> Tuple[int, ...]:
        """Channels of the outputs ``MobileViT(arch, out_indices=...,
        last_exp_factor=...)`` returns, read off the arch table without
        building the network (e.g. to check a neck config against it)."""
        channels = [s.out_channels for s in cls._parse_arch(arch)['stages']]
        channels.append(cls._exp_channels(channels[-1], last_exp_factor))
        return cls._select_outputs(channels, out_indices)

    @staticmethod
    def _exp_channels(channels: int, last_exp_factor: int) -> int:
        return min(last_exp_factor * channels, 960)

    def _make_block(self, stage: StageSetting, dilation: int) -> nn.Module:
        # never dilated, as in ml-cvnets (only the stage's MV2 block is)
        return MobileViTBlock(
            num_heads=stage.num_heads, **self._block_args(stage))

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        outs, x = self._forward_stages(x)
        if self.num_stages in self.out_indices:
            outs.append(self._run(self.conv_1x1_exp, x))
        return tuple(outs)
