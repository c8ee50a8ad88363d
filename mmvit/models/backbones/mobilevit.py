"""MobileViT v1 backbone (Mehta & Rastegari, ICLR 2022), faithful to ml-cvnets.

Unlike mmpretrain's ``MobileViT`` it exposes the layer-5 map before the 1x1
expansion (what SSDLite and DeepLabv3 use), supports output stride 16 / 8 with
ml-cvnets' dilation rule, freezes the stem, honours ``norm_eval``, passes
``conv_cfg``/``norm_cfg``/``act_cfg`` all the way down, and never mutates the
caller's ``out_indices``.
"""
import dataclasses
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from mmvit.registry import MODELS
from ..layers import MobileViTBlock
from .base import FromDict, MobileViTStages


@dataclasses.dataclass(frozen=True)
class StageSetting(FromDict):
    """One stage of MobileViT: a run of MV2 blocks (``block='mv2'``) or one
    down-sampling MV2 block followed by a MobileViT block
    (``block='mobilevit'``)."""
    block: str
    out_channels: int
    stride: int
    expand_ratio: float
    num_blocks: int = 1  # MV2 blocks ('mv2' stages only)
    transformer_dim: Optional[int] = None  # 'mobilevit' stages only
    ffn_dim: Optional[int] = None
    num_transformer_blocks: Optional[int] = None
    num_heads: int = 4
    patch_size: int = 2

    def __post_init__(self):
        if self.block not in ('mv2', 'mobilevit'):
            raise ValueError(f"stage block must be 'mv2' or 'mobilevit', "
                             f'got {self.block!r}')
        if self.block == 'mobilevit' and None in (
                self.transformer_dim, self.ffn_dim,
                self.num_transformer_blocks):
            raise ValueError(
                "a 'mobilevit' stage needs transformer_dim, ffn_dim and "
                f'num_transformer_blocks, got {self}')


def _mv2(*, out_channels: int, stride: int, expand_ratio: float,
         num_blocks: int) -> StageSetting:
    """A run of ``num_blocks`` MV2 blocks (the first with ``stride``)."""
    return StageSetting(
        'mv2',
        out_channels=out_channels,
        stride=stride,
        expand_ratio=expand_ratio,
        num_blocks=num_blocks)


def _vit(*, out_channels: int, expand_ratio: float, transformer_dim: int,
         num_transformer_blocks: int) -> StageSetting:
    """A stride-2 MV2 block and a MobileViT block (FFN width 2d, 4 heads,
    2x2 patches)."""
    return StageSetting(
        'mobilevit',
        out_channels=out_channels,
        stride=2,
        expand_ratio=expand_ratio,
        transformer_dim=transformer_dim,
        ffn_dim=2 * transformer_dim,
        num_transformer_blocks=num_transformer_blocks)


# Table 4 of the paper / ml-cvnets `config/mobilevit.py`. `short_name` is the
# variant's name in config files (`ssdlite_mobilevit_s_coco.py`), in timm
# (`mobilevit_s`) and in the paper (S / XS / XXS); `drop_rate` is the
# recipe's transformer dropout.
ARCH_SETTINGS: Dict[str, dict] = {
    'small': dict(
        short_name='s',
        drop_rate=0.1,
        stages=(
            _mv2(out_channels=32, stride=1, expand_ratio=4, num_blocks=1),
            _mv2(out_channels=64, stride=2, expand_ratio=4, num_blocks=3),
            _vit(out_channels=96, expand_ratio=4, transformer_dim=144,
                 num_transformer_blocks=2),
            _vit(out_channels=128, expand_ratio=4, transformer_dim=192,
                 num_transformer_blocks=4),
            _vit(out_channels=160, expand_ratio=4, transformer_dim=240,
                 num_transformer_blocks=3),
        )),
    'x_small': dict(
        short_name='xs',
        drop_rate=0.1,
        stages=(
            _mv2(out_channels=32, stride=1, expand_ratio=4, num_blocks=1),
            _mv2(out_channels=48, stride=2, expand_ratio=4, num_blocks=3),
            _vit(out_channels=64, expand_ratio=4, transformer_dim=96,
                 num_transformer_blocks=2),
            _vit(out_channels=80, expand_ratio=4, transformer_dim=120,
                 num_transformer_blocks=4),
            _vit(out_channels=96, expand_ratio=4, transformer_dim=144,
                 num_transformer_blocks=3),
        )),
    'xx_small': dict(
        short_name='xxs',
        drop_rate=0.05,
        stages=(
            _mv2(out_channels=16, stride=1, expand_ratio=2, num_blocks=1),
            _mv2(out_channels=24, stride=2, expand_ratio=2, num_blocks=3),
            _vit(out_channels=48, expand_ratio=2, transformer_dim=64,
                 num_transformer_blocks=2),
            _vit(out_channels=64, expand_ratio=2, transformer_dim=80,
                 num_transformer_blocks=4),
            _vit(out_channels=80, expand_ratio=2, transformer_dim=96,
                 num_transformer_blocks=3),
        )),
}


def short_name(arch: str) -> str:
    """``'s'``, ``'xs'`` or ``'xxs'``: the name of ``arch`` in config files
    and in timm (``mobilevit_{short_name}``)."""
    if arch not in ARCH_SETTINGS:
        raise KeyError(f'unknown MobileViT arch {arch!r}; valid archs are '
                       f'{sorted(ARCH_SETTINGS)}')
    return ARCH_SETTINGS[arch]['short_name']


@MODELS.register_module()
class MobileViT(MobileViTStages):
    """MobileViT v1 backbone.

    Args:
        arch (str | list[dict]): ``'small'``, ``'x_small'``, ``'xx_small'``
            or five per-stage dicts with the fields of :class:`StageSetting`
            (``block``, ``out_channels``, ``stride``, ``expand_ratio``,
            ``num_blocks``, ``transformer_dim``, ``ffn_dim``,
            ``num_transformer_blocks``, ``num_heads``, ``patch_size``).
            Defaults to ``'small'``.
        in_channels (int): Input image channels. Defaults to 3.
        stem_channels (int): Stem width. Defaults to 16.
        out_indices (Sequence[int]): Outputs to return: 0-4 are the five
            stages (strides 2, 4, 8, 16, 32), 5 is the final 1x1 expansion
            layer (built only when requested). Negative indices count from
            the end (-1 is the expansion layer). Outputs come in this order
            whatever the order given. Stages after the deepest output are
            built (checkpoints keep their keys) but neither run nor trained
            (``requires_grad=False``). Defaults to ``(4, )``.
        out_stride (int): 32, 16 or 8. Below 32 the last stage(s) run at
            stride 1 with doubled dilation, as in ml-cvnets: 16 dilates stage
            4, 8 dilates stages 3 and 4 (0-based). Defaults to 32.
        last_exp_factor (int): Expansion layer width is
            ``min(last_exp_factor * C5, 960)``. Defaults to 4.
        drop_rate (float, optional): Transformer dropout; None takes the
            recipe's value of the arch (0.1 for small/x_small, 0.05 for
            xx_small). Defaults to None.
        attn_drop_rate (float): Attention dropout. Defaults to 0.
        ffn_drop_rate (float): FFN inner dropout. Defaults to 0.
        drop_path_rate (float): Stochastic depth of transformer layers.
            Defaults to 0.
        frozen_stages (int): Freeze the stem and stages ``0..frozen_stages-1``
            (0 freezes the stem only; -1 nothing). Defaults to -1.
        norm_eval (bool): Keep all norm layers in eval mode while training.
            Defaults to False.
        with_cp (bool): Activation checkpointing of every block (saves memory,
            costs compute). Defaults to False.
        conv_cfg (dict, optional): Convolution config. Defaults to None.
        norm_cfg (dict): Normalization config. Defaults to ``dict(type='BN')``.
        act_cfg (dict): Activation config. Defaults to ``dict(type='SiLU')``.
        init_cfg (dict | list[dict], optional): Initialization config; use
            ``dict(type='Pretrained', checkpoint=...)`` for converted weights.
            Defaults to Kaiming conv, truncated-normal linear, constant norm
            init, as ml-cvnets.
    """
    arch_settings = ARCH_SETTINGS

    def __init__(self,
                 arch: Union[str, Sequence[dict]] = 'small',
                 in_channels: int = 3,
                 stem_channels: int = 16,
                 out_indices: Sequence[int] = (4, ),
                 out_stride: int = 32,
                 last_exp_factor: int = 4,
                 drop_rate: Optional[float] = None,
                 attn_drop_rate: float = 0.,
                 ffn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='SiLU'),
                 init_cfg: Optional[Union[dict, List[dict]]] = [
                     dict(type='Kaiming', mode='fan_out', layer='Conv2d'),
                     dict(type='TruncNormal', std=0.02, layer='Linear'),
                     dict(
                         type='Constant',
                         val=1,
                         layer=['_BatchNorm', 'GroupNorm', 'LayerNorm'])
                 ]):
        super().__init__(init_cfg=init_cfg)
        stages, default_drop = self._parse_arch(arch)
        self.stage_settings = stages
        drop_rate = default_drop if drop_rate is None else drop_rate

        self._check_run_settings(out_stride, frozen_stages, norm_eval,
                                 with_cp)
        self.out_indices = self._parse_out_indices(out_indices)

        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.stem = ConvModule(
            in_channels, stem_channels, 3, stride=2, padding=1, **common)
        drop_rates = dict(
            drop_rate=drop_rate,
            attn_drop_rate=attn_drop_rate,
            ffn_drop_rate=ffn_drop_rate,
            drop_path_rate=drop_path_rate)

        def make_stage(stage, channels, stride, prev_dilation, dilation):
            # ml-cvnets dilates only the MV2 blocks, with the dilation the
            # stage starts at
            return self._make_stage(stage, channels, stride, prev_dilation,
                                    drop_rates, common)

        self._build_stages(stages, stem_channels, make_stage)

        self.stage_channels = tuple(s.out_channels for s in stages)
        if self.num_stages in self.out_indices:
            channels = self.stage_channels[-1]
            self.conv_1x1_exp = ConvModule(
                channels, self._exp_channels(channels, last_exp_factor), 1,
                **common)
        self.out_channels = self.arch_out_channels(arch, out_indices,
                                                   last_exp_factor)
        self._finish(self.out_indices)

    @classmethod
    def arch_out_channels(cls, arch: Union[str, Sequence[dict]],
                          out_indices: Sequence[int],
                          last_exp_factor: int) -> Tuple[int, ...]:
        """Channels of the outputs ``MobileViT(arch, out_indices=...,
        last_exp_factor=...)`` returns, read off the arch table without
        building the network (e.g. to check a neck config against it)."""
        stages, _ = cls._parse_arch(arch)
        channels = [stage.out_channels for stage in stages]
        channels.append(cls._exp_channels(channels[-1], last_exp_factor))
        return tuple(channels[i] for i in cls._parse_out_indices(out_indices))

    @staticmethod
    def _exp_channels(channels: int, last_exp_factor: int) -> int:
        return min(last_exp_factor * channels, 960)

    @classmethod
    def _parse_out_indices(
            cls, out_indices: Union[int, Sequence[int]]) -> Tuple[int, ...]:
        """Sorted, deduplicated, non-negative copy of ``out_indices``
        (outputs come in forward order); the caller's is left intact."""
        num_outputs = cls.num_stages + 1
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        indices = []
        for index in out_indices:
            if not -num_outputs <= index < num_outputs:
                raise ValueError(
                    f'out_indices must be in [{-num_outputs}, '
                    f'{num_outputs - 1}] (0-4 stages, 5 expansion layer), '
                    f'got {tuple(out_indices)}')
            indices.append(index % num_outputs)
        return tuple(sorted(set(indices)))

    @classmethod
    def _parse_arch(cls, arch) -> Tuple[Tuple[StageSetting, ...], float]:
        if isinstance(arch, str):
            if arch not in cls.arch_settings:
                raise KeyError(f'unknown MobileViT arch {arch!r}; valid archs '
                               f'are {sorted(cls.arch_settings)}')
            setting = cls.arch_settings[arch]
            return setting['stages'], setting['drop_rate']
        if not isinstance(arch, Sequence) or len(arch) != cls.num_stages:
            raise ValueError(
                f'a custom arch must be a list of {cls.num_stages} stage '
                f'dicts, got {arch!r}')
        stages = tuple(
            s if isinstance(s, StageSetting) else StageSetting.from_dict(s)
            for s in arch)
        return stages, 0.1

    @staticmethod
    def _make_stage(stage: StageSetting, in_channels: int, stride: int,
                    dilation: int, drop_rates: dict,
                    common: dict) -> nn.Sequential:
        """The MV2 blocks of a stage (at ``dilation``; MobileViT blocks are
        never dilated, as in ml-cvnets) and its MobileViT block."""
        blocks = MobileViTStages._mv2_blocks(stage, in_channels, stride,
                                             dilation, common)
        if stage.block == 'mobilevit':
            blocks.append(
                MobileViTBlock(
                    stage.out_channels,
                    stage.transformer_dim,
                    stage.ffn_dim,
                    stage.num_transformer_blocks,
                    num_heads=stage.num_heads,
                    patch_size=stage.patch_size,
                    **drop_rates,
                    **common))
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        outs, x = self._forward_stages(x)
        if self.num_stages in self.out_indices:
            outs.append(self._run(self.conv_1x1_exp, x))
        return tuple(outs)
