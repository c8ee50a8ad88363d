"""What MobileViT and MobileViTv2 share: the stage settings
(:class:`StageSettingBase`), the argument handling (arch, ``out_indices``,
``out_stride``, ``frozen_stages``, the dropout rates, ``conv_cfg`` /
``norm_cfg`` / ``act_cfg``, ``init_cfg``), a stride-2 stem and five stages
built by ml-cvnets' output-stride rule (dilation instead of down-sampling in
the last stages), stages run only up to the deepest output,
``frozen_stages``, ``norm_eval`` and activation checkpointing. Each backbone
builds its own attention blocks (:meth:`MobileViTStages._make_block`)."""
import dataclasses
from typing import ClassVar, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from ..layers import DropRates, InvertedResidual


class FromDict:
    """``from_dict`` for the stage-setting dataclasses: a config dict with
    the named fields, unknown keys refused (not ignored)."""

    @classmethod
    def from_dict(cls, cfg: dict):
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(cfg) - set(valid))
        if unknown:
            raise ValueError(f'unknown stage setting keys {unknown}; '
                             f'valid keys are {valid}')
        return cls(**cfg)


def _and(names: Sequence[str]) -> str:
    """``'a, b and c'``."""
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} and {names[-1]}"


@dataclasses.dataclass(frozen=True)
class StageSettingBase(FromDict):
    """One stage of a MobileViT backbone: a run of MV2 blocks
    (``block='mv2'``) or one down-sampling MV2 block followed by an
    attention block (``block=attn_block``). All fields but ``block`` are
    keyword-only.

    Args:
        block (str): ``'mv2'`` or the family's ``attn_block``.
        out_channels (int): Stage width.
        stride (int): Stride of the first MV2 block, 1 or 2.
        expand_ratio (float): Hidden width of the MV2 blocks relative to
            their input.
        num_blocks (int): MV2 blocks of an ``'mv2'`` stage (an attention
            stage has one). Defaults to 1.
        embed_dims (int, optional): Token width of the attention block.
        feedforward_channels (int, optional): Hidden width of its FFNs.
        num_transformer_blocks (int, optional): Its transformer layers.
        patch_size (int): Its patch side. Defaults to 2.
    """
    block: str
    _: dataclasses.KW_ONLY
    out_channels: int
    stride: int
    expand_ratio: float
    num_blocks: int = 1
    embed_dims: Optional[int] = None  # attention stages only
    feedforward_channels: Optional[int] = None
    num_transformer_blocks: Optional[int] = None
    patch_size: int = 2

    #: the block of the attention stages
    attn_block: ClassVar[str] = 'attention'
    #: what an attention stage must give
    required: ClassVar[Tuple[str, ...]] = ('embed_dims',
                                           'num_transformer_blocks')

    def __post_init__(self):
        if self.block not in ('mv2', self.attn_block):
            raise ValueError(f"stage block must be 'mv2' or "
                             f'{self.attn_block!r}, got {self.block!r}')
        if self.stride not in (1, 2):
            raise ValueError(f'stage stride must be 1 or 2, got {self}')
        if self.block == 'mv2':
            given = [
                name for name in ('embed_dims', 'feedforward_channels',
                                  'num_transformer_blocks')
                if getattr(self, name) is not None
            ]
            if given:  # else silently ignored
                raise ValueError(f'{given} apply to {self.attn_block!r} '
                                 f"stages only, not to an 'mv2' stage: "
                                 f'{self}')
            return
        if self.num_blocks != 1:
            raise ValueError(
                f'a {self.attn_block!r} stage has one MV2 block before its '
                f'attention block: num_blocks must be 1, got {self}')
        if any(getattr(self, name) is None for name in self.required):
            raise ValueError(f'a {self.attn_block!r} stage needs '
                             f'{_and(self.required)}, got {self}')


def released_setting(family: str, arch_settings: Dict[str, dict],
                     arch: str, others: str = '') -> dict:
    """``arch_settings[arch]``; an unknown key is a ``KeyError`` naming the
    valid ones (and ``others``, what else the caller takes)."""
    if arch not in arch_settings:
        raise KeyError(f'unknown {family} arch {arch!r}; valid archs are '
                       f'{list(arch_settings)}{others}')
    return arch_settings[arch]


# Where cvnets' output stride dilates: the stages whose stride becomes 1.
DILATED_STAGES = {32: (), 16: (4, ), 8: (3, 4)}


class MobileViTStages(BaseModule):
    """Base of the MobileViT backbones (not registered): the arguments they
    share, checked up front, and the stem.

    A subclass sets ``arch_settings``, ``stage_setting`` and
    ``arch_defaults``, passes these arguments to ``super().__init__`` (which
    checks them, builds the stem and keeps the rest for its blocks), then
    calls :meth:`_build_stages`, which builds the stages with the subclass'
    :meth:`_make_block` and sets ``out_channels``.

    Args:
        arch (str | list[dict]): A key of ``arch_settings`` or five
            per-stage dicts with the fields of ``stage_setting``.
        in_channels (int): Input image channels. Defaults to 3.
        stem_channels (int, optional): Stem width; None takes the arch's.
            Defaults to None.
        out_indices (Sequence[int]): Outputs to return: 0-4 are the five
            stages (strides 2, 4, 8, 16, 32), and ``MobileViT``'s 5 its
            final 1x1 expansion layer. Negative indices count from the end.
            Outputs come in this order whatever the order given; the
            caller's sequence is left intact. Stages after the deepest
            output are built (checkpoints keep their keys) but neither run
            nor trained (``requires_grad=False``). Defaults to ``(4, )``.
        out_stride (int): 32, 16 or 8. Below 32 the last stage(s) run at
            stride 1 with doubled dilation, as in ml-cvnets: 16 dilates stage
            4, 8 dilates stages 3 and 4 (0-based); the down-sampling MV2
            block of a dilated stage keeps the previous dilation. Defaults
            to 32.
        drop_rate (float, optional): Dropout after the attention and the FFN
            of the transformer layers; None takes the arch's recipe value.
            Defaults to None.
        attn_drop_rate (float): Dropout on the attention weights (v1) or
            context scores (v2). Defaults to 0.
        ffn_drop_rate (float): FFN inner dropout. Defaults to 0.
        drop_path_rate (float): Stochastic depth of the transformer layers.
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
        init_cfg (dict | list[dict], optional): Initialization config; use
            ``dict(type='Pretrained', checkpoint=...)`` for converted weights.
            Defaults to Kaiming conv, truncated-normal linear, constant norm
            init, as ml-cvnets.
    """
    num_stages = 5
    #: how many outputs ``out_indices`` may name
    num_outputs = 5
    #: what they are, for the error message of a bad index
    outputs_help = 'the five stages'
    #: the released archs: key -> ``dict(stages=..., ...)``
    arch_settings: Dict[str, dict] = {}
    stage_setting = StageSettingBase
    #: ``stem_channels`` and ``drop_rate`` of an arch that does not set them
    arch_defaults: dict = {}
    #: what ``arch`` takes besides a key, for the error message
    arch_help = ', or a list of 5 stage dicts'

    def __init__(self,
                 arch: Union[str, Sequence[dict]],
                 in_channels: int = 3,
                 stem_channels: Optional[int] = None,
                 out_indices: Sequence[int] = (4, ),
                 out_stride: int = 32,
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
        setting = self._parse_arch(arch)
        if out_stride not in DILATED_STAGES:
            raise ValueError(f'out_stride must be one of '
                             f'{sorted(DILATED_STAGES)}, got {out_stride!r}')
        if not -1 <= frozen_stages <= self.num_stages:
            raise ValueError(f'frozen_stages must be in [-1, '
                             f'{self.num_stages}], got {frozen_stages}')
        self.stage_settings = setting['stages']
        self.out_indices = self._parse_out_indices(out_indices)
        self.out_stride = out_stride
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.drop_rates = DropRates(
            drop_rate=setting['drop_rate'] if drop_rate is None else drop_rate,
            attn_drop_rate=attn_drop_rate,
            ffn_drop_rate=ffn_drop_rate,
            drop_path_rate=drop_path_rate)
        self.layer_cfgs = dict(
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        if stem_channels is None:
            stem_channels = setting['stem_channels']
        self.stem_channels = stem_channels
        self.stem = ConvModule(
            in_channels,
            self.stem_channels,
            3,
            stride=2,
            padding=1,
            **self.layer_cfgs)

    @classmethod
    def _parse_arch(cls, arch: Union[str, Sequence[dict]]) -> dict:
        """``dict(stages=..., stem_channels=..., drop_rate=...)`` of a key of
        ``arch_settings`` or a list of five stage dicts."""
        if isinstance(arch, str):
            setting = released_setting(cls.__name__, cls.arch_settings, arch,
                                       cls.arch_help)
            return {**cls.arch_defaults, **setting}
        if not isinstance(arch, Sequence) or len(arch) != cls.num_stages:
            raise ValueError(f'a custom {cls.__name__} arch must be a list '
                             f'of {cls.num_stages} stage dicts, got {arch!r}')
        stages = tuple(s if isinstance(s, cls.stage_setting) else
                       cls.stage_setting.from_dict(s) for s in arch)
        return dict(cls.arch_defaults, stages=stages)

    @classmethod
    def _parse_out_indices(
            cls, out_indices: Union[int, Sequence[int]]) -> Tuple[int, ...]:
        """Sorted, deduplicated, non-negative copy of ``out_indices``
        (outputs come in forward order); the caller's is left intact."""
        n = cls.num_outputs
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        out_indices = tuple(out_indices)
        if not out_indices:
            raise ValueError('out_indices must name at least one stage')
        for index in out_indices:
            if not isinstance(index, int) or not -n <= index < n:
                raise ValueError(f'out_indices must be in [{-n}, {n - 1}] '
                                 f'({cls.outputs_help}), got {out_indices}')
        return tuple(sorted({index % n for index in out_indices}))

    @classmethod
    def _select_outputs(cls, channels: Sequence[int],
                        out_indices: Sequence[int]) -> Tuple[int, ...]:
        return tuple(channels[i] for i in cls._parse_out_indices(out_indices))

    @classmethod
    def arch_out_channels(cls, arch: Union[str, Sequence[dict]],
                          out_indices: Sequence[int]) -> Tuple[int, ...]:
        """Channels of the outputs ``cls(arch, out_indices=...)`` returns,
        read off the arch table without building the network (e.g. to check
        a neck config against it)."""
        stages = cls._parse_arch(arch)['stages']
        return cls._select_outputs([s.out_channels for s in stages],
                                   out_indices)

    def _build_stages(self, extra_channels: Tuple[int, ...] = ()) -> None:
        """Add ``layer1`` ... ``layer5`` after the stem, with ml-cvnets'
        rule: a dilated stage runs at stride 1 and doubles the dilation; its
        first (down-sampling) MV2 block keeps the previous one, its attention
        block (:meth:`_make_block`) gets the new one. Then set
        ``out_channels`` (the stages', then ``extra_channels``, the outputs
        after the stages) and freeze what is frozen or never run."""
        self.layer_names: List[str] = []
        in_channels = self.stem_channels
        dilation = 1
        for i, stage in enumerate(self.stage_settings):
            stride = stage.stride
            prev_dilation = dilation
            if i in DILATED_STAGES[self.out_stride] and stride > 1:
                dilation *= 2
                stride = 1
            blocks = self._mv2_blocks(stage, in_channels, stride,
                                      prev_dilation)
            if stage.block != 'mv2':
                blocks.append(self._make_block(stage, dilation))
            name = f'layer{i + 1}'
            self.add_module(name, nn.Sequential(*blocks))
            self.layer_names.append(name)
            in_channels = stage.out_channels
        self.stage_channels = tuple(s.out_channels
                                    for s in self.stage_settings)
        self.out_channels = self._select_outputs(
            self.stage_channels + tuple(extra_channels), self.out_indices)
        # forward runs the stages up to the deepest one asked for; the later
        # ones are built all the same (so a full ImageNet checkpoint still
        # loads strictly, and a detector's checkpoint keeps the classifier's
        # key set) but frozen: a parameter that requires grad and gets none
        # stops DDP (find_unused_parameters=False) at its second iteration.
        self.num_run_stages = min(max(self.out_indices) + 1, self.num_stages)
        self._freeze_stages()

    def _mv2_blocks(self, stage: StageSettingBase, in_channels: int,
                    stride: int, dilation: int) -> List[nn.Module]:
        """The MV2 (inverted residual) blocks a stage starts with: all of
        an ``'mv2'`` stage's, the one down-sampling block of the others."""
        return [
            InvertedResidual(
                in_channels if j == 0 else stage.out_channels,
                stage.out_channels,
                stride=stride if j == 0 else 1,
                expand_ratio=stage.expand_ratio,
                dilation=dilation,
                **self.layer_cfgs) for j in range(stage.num_blocks)
        ]

    def _block_args(self, stage: StageSettingBase) -> dict:
        """The arguments both attention blocks take: the stage's fields of
        the same names, its width, the backbone's dropout rates and cfgs."""
        names = ('embed_dims', 'feedforward_channels',
                 'num_transformer_blocks', 'patch_size')
        return dict(
            in_channels=stage.out_channels,
            drop_rates=self.drop_rates,
            **{name: getattr(stage, name) for name in names},
            **self.layer_cfgs)

    def _make_block(self, stage: StageSettingBase, dilation: int) -> nn.Module:
        """The attention block that ends ``stage``; ``dilation`` is the
        stage's, after ml-cvnets' rule."""
        raise NotImplementedError

    def _run(self, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and self.training and x.requires_grad:
            return cp.checkpoint(module, x, use_reentrant=False)
        return module(x)

    def _forward_stages(
            self, x: torch.Tensor) -> Tuple[List[torch.Tensor], torch.Tensor]:
        """``([the stage outputs in out_indices], the last map run)``."""
        outs = []
        x = self._run(self.stem, x)
        for i, name in enumerate(self.layer_names[:self.num_run_stages]):
            for block in getattr(self, name):
                x = self._run(block, x)
            if i in self.out_indices:
                outs.append(x)
        return outs, x

    def _freeze_stages(self) -> None:
        for name in self.layer_names[self.num_run_stages:]:  # never run
            getattr(self, name).requires_grad_(False)
        if self.frozen_stages < 0:
            return
        frozen = [self.stem] + [
            getattr(self, name)
            for name in self.layer_names[:self.frozen_stages]
        ]
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'MobileViTStages':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, (_BatchNorm, nn.GroupNorm)):
                    module.eval()
        return self
