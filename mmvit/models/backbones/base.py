"""What MobileViT and MobileViTv2 share: a stride-2 stem and five stages,
ml-cvnets' output-stride rule (dilation instead of down-sampling in the last
stages), stages run only up to the deepest output, ``frozen_stages``,
``norm_eval`` and activation checkpointing. Each backbone builds its own
stages (:meth:`MobileViTStages._make_stage`)."""
import dataclasses
from typing import Callable, List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from ..layers import InvertedResidual

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


# Where cvnets' output stride dilates: the stages whose stride becomes 1.
DILATED_STAGES = {32: (), 16: (4, ), 8: (3, 4)}


class MobileViTStages(BaseModule):
    """Base of the MobileViT backbones (not registered).

    Subclasses set ``self.stem``, call :meth:`_check_run_settings` and
    :meth:`_build_stages`, and then :meth:`_finish` once their outputs are
    known.
    """
    num_stages = 5

    def _check_run_settings(self, out_stride: int, frozen_stages: int,
                            norm_eval: bool, with_cp: bool) -> None:
        if out_stride not in DILATED_STAGES:
            raise ValueError(f'out_stride must be one of '
                             f'{sorted(DILATED_STAGES)}, got {out_stride!r}')
        if not -1 <= frozen_stages <= self.num_stages:
            raise ValueError(f'frozen_stages must be in [-1, '
                             f'{self.num_stages}], got {frozen_stages}')
        self.out_stride = out_stride
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp

    def _build_stages(self, stages: Sequence, in_channels: int,
                      make_stage: Callable[..., nn.Module]) -> None:
        """Add ``layer1`` ... ``layer5``: ``make_stage(stage, in_channels,
        stride, prev_dilation, dilation)`` for each stage setting, with
        ml-cvnets' rule: a dilated stage runs at stride 1 and doubles the
        dilation; its first (down-sampling) MV2 block keeps the previous
        one."""
        self.layer_names: List[str] = []
        dilation = 1
        for i, stage in enumerate(stages):
            stride = stage.stride
            prev_dilation = dilation
            if i in DILATED_STAGES[self.out_stride] and stride > 1:
                dilation *= 2
                stride = 1
            name = f'layer{i + 1}'
            self.add_module(
                name,
                make_stage(stage, in_channels, stride, prev_dilation,
                           dilation))
            self.layer_names.append(name)
            in_channels = stage.out_channels

    @staticmethod
    def _mv2_blocks(stage, in_channels: int, stride: int, dilation: int,
                    common: dict) -> List[nn.Module]:
        """The MV2 (inverted residual) blocks a stage starts with: all of
        an ``'mv2'`` stage's, the one down-sampling block of the others."""
        num_mv2 = stage.num_blocks if stage.block == 'mv2' else 1
        return [
            InvertedResidual(
                in_channels if j == 0 else stage.out_channels,
                stage.out_channels,
                stride=stride if j == 0 else 1,
                expand_ratio=stage.expand_ratio,
                dilation=dilation,
                **common) for j in range(num_mv2)
        ]

    def _finish(self, out_indices: Tuple[int, ...]) -> None:
        # forward runs the stages up to the deepest one asked for; the later
        # ones are built all the same (so a full ImageNet checkpoint still
        # loads strictly, and a detector's checkpoint keeps the classifier's
        # key set) but frozen: a parameter that requires grad and gets none
        # stops DDP (find_unused_parameters=False) at its second iteration.
        self.num_run_stages = min(max(out_indices) + 1, self.num_stages)
        self._freeze_stages()

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
