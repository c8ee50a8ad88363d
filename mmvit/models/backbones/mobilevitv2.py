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
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from mmvit.registry import MODELS
from ..layers import MobileViTv2Block, make_divisible
from .base import FromDict, MobileViTStages

# ml-cvnets sizes the FFN of its transformer layers down to a multiple of 16
_FFN_DIVISOR = 16


@dataclasses.dataclass(frozen=True)
class StageSettingV2(FromDict):
    """One stage of MobileViTv2: a run of MV2 blocks (``block='mv2'``) or one
    down-sampling MV2 block followed by a MobileViTv2 block
    (``block='mobilevitv2'``).

    ``ffn_dim`` left out is ``ffn_ratio * attn_dim`` rounded down to a
    multiple of 16, as in ml-cvnets.
    """
    block: str
    out_channels: int
    stride: int
    expand_ratio: float = 2.
    num_blocks: int = 1  # MV2 blocks ('mv2' stages only)
    attn_dim: Optional[int] = None  # 'mobilevitv2' stages only
    num_attn_blocks: Optional[int] = None
    ffn_dim: Optional[int] = None
    ffn_ratio: float = 2.
    patch_size: int = 2

    def __post_init__(self):
        if self.block not in ('mv2', 'mobilevitv2'):
            raise ValueError(f"stage block must be 'mv2' or 'mobilevitv2', "
                             f'got {self.block!r}')
        if self.stride not in (1, 2):
            raise ValueError(f'stage stride must be 1 or 2, got {self}')
        if self.block == 'mv2':
            given = [
                name for name in ('attn_dim', 'num_attn_blocks', 'ffn_dim')
                if getattr(self, name) is not None
            ]
            if given:  # else silently ignored
                raise ValueError(f"{given} apply to 'mobilevitv2' stages "
                                 f"only, not to an 'mv2' stage: {self}")
        if self.block == 'mobilevitv2':
            if self.num_blocks != 1:
                raise ValueError(
                    "a 'mobilevitv2' stage has one MV2 block before its "
                    f'MobileViTv2 block: num_blocks must be 1, got {self}')
            if None in (self.attn_dim, self.num_attn_blocks):
                raise ValueError("a 'mobilevitv2' stage needs attn_dim and "
                                 f'num_attn_blocks, got {self}')
            if self.ffn_dim is None:
                ffn_dim = int(self.ffn_ratio * self.attn_dim)
                object.__setattr__(self, 'ffn_dim',
                                   ffn_dim // _FFN_DIVISOR * _FFN_DIVISOR)


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
        attn_dim=128,
        num_attn_blocks=2),
    StageSettingV2(
        'mobilevitv2',
        out_channels=384,
        stride=2,
        attn_dim=192,
        num_attn_blocks=4),
    StageSettingV2(
        'mobilevitv2',
        out_channels=512,
        stride=2,
        attn_dim=256,
        num_attn_blocks=3),
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
                attn_dim=make_divisible(stage.attn_dim * widen_factor, 8),
                ffn_dim=None)  # derived from the new attn_dim
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


def arch_of_last_attn_dim(attn_dim: int) -> str:
    """The released width whose last stage has token width ``attn_dim``
    (all seven differ), e.g. ``256 -> '1.0'``: how a checkpoint tells its
    width."""
    archs = {s['stages'][-1].attn_dim: a for a, s in ARCH_SETTINGS.items()}
    if attn_dim not in archs:
        raise ValueError(
            f'no released MobileViTv2 width has a last-stage token width of '
            f'{attn_dim}; the widths are {archs}')
    return archs[attn_dim]


def attn_depths(arch: str) -> Dict[int, int]:
    """``{stage (1-based, as in layer1..layer5): transformer layers}`` of the
    MobileViTv2 stages of the released width ``arch``."""
    if arch not in ARCH_SETTINGS:
        raise KeyError(f'unknown MobileViTv2 arch {arch!r}; valid archs are '
                       f'{list(ARCH_SETTINGS)}')
    return {
        i + 1: stage.num_attn_blocks
        for i, stage in enumerate(ARCH_SETTINGS[arch]['stages'])
        if stage.block == 'mobilevitv2'
    }


def timm_name(arch: str) -> str:
    """timm's model name of ``arch``: ``'1.0'`` -> ``'mobilevitv2_100'``."""
    if arch not in ARCH_SETTINGS:
        raise KeyError(f'unknown MobileViTv2 arch {arch!r}; valid archs are '
                       f'{list(ARCH_SETTINGS)}')
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
            ``attn_dim``, ``num_attn_blocks``, ``ffn_dim``, ``ffn_ratio``,
            ``patch_size``). Defaults to ``'1.0'``.
        in_channels (int): Input image channels. Defaults to 3.
        stem_channels (int, optional): Stem width; None takes the arch's (32
            for a custom stage list). Defaults to None.
        out_indices (Sequence[int]): Stages to return, 0-4 (strides 2, 4, 8,
            16, 32); negative indices count from the end. There is no index
            5: MobileViTv2 has no expansion layer before the classifier.
            Outputs come in stage order whatever the order given. Stages after
            the deepest output are built (checkpoints keep their keys) but
            neither run nor trained (``requires_grad=False``). Defaults to
            ``(4, )``.
        out_stride (int): 32, 16 or 8. Below 32 the last stage(s) run at
            stride 1 with doubled dilation, as in ml-cvnets: 16 dilates stage
            4, 8 dilates stages 3 and 4 (0-based); the down-sampling MV2 of a
            dilated stage keeps the previous dilation, its MobileViTv2
            block's depthwise conv takes the new one. Defaults to 32.
        drop_rate (float): Dropout after attention and FFN. Defaults to 0
            (ml-cvnets' recipes).
        attn_drop_rate (float): Dropout on the context scores. Defaults to 0.
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
        norm_cfg (dict): Norm of the convolutions. Defaults to
            ``dict(type='BN')``.
        act_cfg (dict): Activation config (also used in the FFNs). Defaults
            to ``dict(type='SiLU')``.
        attn_norm_cfg (dict): Norm of the transformer layers, on
            ``[B, d, P, N]`` tokens. Defaults to
            ``dict(type='GN', num_groups=1)`` (ml-cvnets' ``layer_norm_2d``).
        init_cfg (dict | list[dict], optional): Initialization config; use
            ``dict(type='Pretrained', checkpoint=...)`` for converted weights.
            Defaults to Kaiming conv, truncated-normal linear, constant norm
            init, as ml-cvnets.
    """
    arch_settings = ARCH_SETTINGS

    def __init__(self,
                 arch: Union[str, float, Sequence[dict]] = '1.0',
                 in_channels: int = 3,
                 stem_channels: Optional[int] = None,
                 out_indices: Sequence[int] = (4, ),
                 out_stride: int = 32,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 ffn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='SiLU'),
                 attn_norm_cfg: dict = dict(type='GN', num_groups=1),
                 init_cfg: Optional[Union[dict, List[dict]]] = [
                     dict(type='Kaiming', mode='fan_out', layer='Conv2d'),
                     dict(type='TruncNormal', std=0.02, layer='Linear'),
                     dict(
                         type='Constant',
                         val=1,
                         layer=['_BatchNorm', 'GroupNorm', 'LayerNorm'])
                 ]):
        super().__init__(init_cfg=init_cfg)
        arch_stem, stages = self._parse_arch(arch)
        self.stage_settings = stages
        self._check_run_settings(out_stride, frozen_stages, norm_eval,
                                 with_cp)
        self.out_indices = self._parse_out_indices(out_indices)

        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        stem_channels = arch_stem if stem_channels is None else stem_channels
        self.stem = ConvModule(
            in_channels, stem_channels, 3, stride=2, padding=1, **common)

        drop_rates = dict(
            drop_rate=drop_rate,
            attn_drop_rate=attn_drop_rate,
            ffn_drop_rate=ffn_drop_rate,
            drop_path_rate=drop_path_rate)

        def make_stage(stage, channels, stride, prev_dilation, dilation):
            # unlike v1, the MobileViTv2 block's depthwise conv is dilated too
            return self._make_stage(
                stage,
                channels,
                stride,
                mv2_dilation=prev_dilation,
                block_dilation=dilation,
                drop_rates=drop_rates,
                attn_norm_cfg=attn_norm_cfg,
                common=common)

        self._build_stages(stages, stem_channels, make_stage)

        self.stage_channels = tuple(s.out_channels for s in stages)
        self.out_channels = tuple(self.stage_channels[i]
                                  for i in self.out_indices)
        self._finish(self.out_indices)

    @classmethod
    def arch_out_channels(cls, arch: Union[str, float, Sequence[dict]],
                          out_indices: Sequence[int]) -> Tuple[int, ...]:
        """Channels of the outputs ``MobileViTv2(arch, out_indices=...)``
        returns, read off the arch table without building the network (e.g.
        to check a neck config against it)."""
        _, stages = cls._parse_arch(arch)
        return tuple(stages[i].out_channels
                     for i in cls._parse_out_indices(out_indices))

    @classmethod
    def _parse_out_indices(
            cls, out_indices: Union[int, Sequence[int]]) -> Tuple[int, ...]:
        """Sorted, deduplicated, non-negative copy of ``out_indices``; the
        caller's is left intact."""
        n = cls.num_stages
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        out_indices = tuple(out_indices)
        if not out_indices:
            raise ValueError('out_indices must name at least one stage')
        for index in out_indices:
            if not isinstance(index, int) or not -n <= index < n:
                raise ValueError(
                    f'out_indices must be in [{-n}, {n - 1}] (the five '
                    'stages; MobileViTv2 has no expansion layer, so no index '
                    f'{n}), got {out_indices}')
        return tuple(sorted({index % n for index in out_indices}))

    @classmethod
    def _parse_arch(cls, arch) -> Tuple[int, Tuple[StageSettingV2, ...]]:
        """``(stem_channels, stages)`` of a key, a width or a stage list."""
        if isinstance(arch, str):
            if arch not in cls.arch_settings:
                raise KeyError(
                    f'unknown MobileViTv2 arch {arch!r}; valid archs are '
                    f'{list(cls.arch_settings)}, or a width multiplier as a '
                    'number, or a list of 5 stage dicts')
            setting = cls.arch_settings[arch]
            return setting['stem_channels'], setting['stages']
        if isinstance(arch, numbers.Real) and not isinstance(arch, bool):
            setting = scaled_arch(arch)
            return setting['stem_channels'], setting['stages']
        if not isinstance(arch, Sequence) or len(arch) != cls.num_stages:
            raise ValueError(f'a custom MobileViTv2 arch must be a list of '
                             f'{cls.num_stages} stage dicts, got {arch!r}')
        stages = tuple(
            s if isinstance(s, StageSettingV2) else StageSettingV2.from_dict(s)
            for s in arch)
        return _BASE_STEM_CHANNELS, stages

    @staticmethod
    def _make_stage(stage: StageSettingV2, in_channels: int, stride: int,
                    mv2_dilation: int, block_dilation: int, drop_rates: dict,
                    attn_norm_cfg: dict, common: dict) -> nn.Sequential:
        blocks = MobileViTStages._mv2_blocks(stage, in_channels, stride,
                                             mv2_dilation, common)
        if stage.block == 'mobilevitv2':
            blocks.append(
                MobileViTv2Block(
                    stage.out_channels,
                    stage.attn_dim,
                    stage.ffn_dim,
                    stage.num_attn_blocks,
                    patch_size=stage.patch_size,
                    dilation=block_dilation,
                    attn_norm_cfg=attn_norm_cfg,
                    **drop_rates,
                    **common))
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        outs, _ = self._forward_stages(x)
        return tuple(outs)
