"""ml-cvnets' SSDLite anchors through mmdet's ``SSDAnchorGenerator``."""
import math
from collections import OrderedDict
from typing import List, Sequence, Tuple, Union

import numpy as np
import torch
from mmdet.models.task_modules.prior_generators import SSDAnchorGenerator
from torch import Tensor

from mmvit.registry import TASK_UTILS

DeviceType = Union[str, torch.device]
# distinct (sizes, device, dtype) kept: multi-scale training uses a handful
# of input sizes
_CACHE_SIZE = 32


@TASK_UTILS.register_module()
class SSDLiteAnchorGenerator(SSDAnchorGenerator):
    """SSD anchors laid out as in ml-cvnets' ``SSDAnchorGenerator``.

    Everything is derived from the input size and the nominal output stride
    of each level, the way cvnets does it, and then handed to mmdet's
    :class:`SSDAnchorGenerator` (which does the gridding, valid flags, etc.).
    Only two things differ from configuring mmdet's class by hand, hence this
    subclass:

    * the geometry is computed (cvnets places ``ceil(S / stride)`` anchor
      centres per axis at ``(i + 0.5) * S / n``, so the effective strides at
      320 are 16, 32, 64, 106.7, 160, 320 and the sizes are fractions
      ``linspace(0.1, 1.05, levels + 1)`` of the image);
    * ``clip=True`` clamps every anchor's width and height to the image size,
      as cvnets clamps its normalised ``(cx, cy, w, h)`` anchors to ``[0, 1]``
      (centres never move: boxes are not cut at the image border).

    Inputs of other sizes (multi-scale training) get the same layout
    relative to the image, as in cvnets, which builds anchors for every input
    size.

    Per location a level gets ``2 + 2 * len(ratios)`` anchors, in cvnets'
    order: the small square, the ``sqrt(s_k * s_k+1)`` square, then a
    ``(w * sqrt(r), h / sqrt(r))`` and a ``(w / sqrt(r), h * sqrt(r))`` box
    for each ratio ``r`` (6, 6, 6, 6, 6, 4 anchors and 3232 in all at 320x320
    with the defaults).

    Args:
        input_size (int): Side of the square network input the geometry is
            designed for, in pixels. Defaults to 320.
        output_strides (Sequence[int]): Nominal output stride of each level;
            ``-1`` marks a global (1x1) level. Defaults to
            ``(16, 32, 64, 128, 256, -1)``.
        ratios (Sequence[Sequence[float]]): Aspect ratios (>= 1) per level.
            Defaults to ``[2, 3]`` for the first five levels and ``[2]`` for
            the last.
        scale_range (tuple[float, float]): Smallest and largest anchor size
            as a fraction of ``input_size``. Defaults to ``(0.1, 1.05)``.
        clip (bool): Clamp anchor width / height to the image size. Defaults
            to True.
    """

    def __init__(self,
                 input_size: int = 320,
                 output_strides: Sequence[int] = (16, 32, 64, 128, 256, -1),
                 ratios: Sequence[Sequence[float]] = ([2, 3], [2, 3], [2, 3],
                                                      [2, 3], [2, 3], [2]),
                 scale_range: Tuple[float, float] = (0.1, 1.05),
                 clip: bool = True) -> None:
        if len(ratios) != len(output_strides):
            raise ValueError(
                f'ratios must have one entry per level '
                f'({len(output_strides)} output_strides), got {len(ratios)}')
        if any(s != -1 and s <= 0
               for s in output_strides) or (output_strides[0] == -1):
            raise ValueError('output_strides must be positive or -1 (global '
                             'level, not first), got '
                             f'{tuple(output_strides)}')
        if any(r < 1 for level in ratios for r in level):
            raise ValueError(f'aspect ratios must be >= 1 (their inverse is '
                             f'added automatically), got {ratios}')
        min_scale, max_scale = scale_range
        if not 0 < min_scale < max_scale:
            raise ValueError(f'scale_range must satisfy 0 < min < max, got '
                             f'{tuple(scale_range)}')
        # [20, 10, 5, 3, 2, 1] at 320
        self.expected_featmap_sizes = [
            1 if s == -1 else math.ceil(input_size / s) for s in output_strides
        ]
        strides = [input_size / n for n in self.expected_featmap_sizes]
        scales = np.linspace(min_scale, max_scale, len(output_strides) + 1)
        # mmdet's second square is sqrt(min_size * max_size) = cvnets'
        # sqrt(s_k * s_k+1) when max_size is the next level's min size.
        super().__init__(
            strides=strides,
            ratios=[list(r) for r in ratios],
            min_sizes=[float(s * input_size) for s in scales[:-1]],
            max_sizes=[float(s * input_size) for s in scales[1:]],
            scale_major=False)
        self.input_size = input_size
        self.output_strides = tuple(output_strides)
        self.scale_range = tuple(scale_range)
        self.clip = clip
        if clip:
            self.base_anchors = [
                self._clamp_size(anchors, center)
                for anchors, center in zip(self.base_anchors, self.centers)
            ]

    def _clamp_size(self, anchors: Tensor, center: Tuple[float,
                                                         float]) -> Tensor:
        # [A, 4] (x1, y1, x2, y2) around `center` -> same centre, w/h <= size
        half_w = (anchors[:, 2] - anchors[:, 0]).clamp(max=self.input_size) / 2
        half_h = (anchors[:, 3] - anchors[:, 1]).clamp(max=self.input_size) / 2
        cx, cy = center
        return torch.stack(
            [cx - half_w, cy - half_h, cx + half_w, cy + half_h], dim=-1)

    def grid_priors(self,
                    featmap_sizes: List[Tuple],
                    dtype: torch.dtype = torch.float32,
                    device: DeviceType = 'cuda') -> List[Tensor]:
        """Anchors of all levels, built on ``device`` (the default is
        mmdet's; every mmdet caller passes the device of the features).

        At ``input_size`` this is mmdet's gridding of the base anchors. Other
        inputs (e.g. multi-scale training) get cvnets' relative layout: the
        input size is read off the first level (``featmap size x
        output_strides[0]``), centres sit at ``(i + 0.5) * H / n`` and
        widths / heights scale with the input width / height.

        The anchors are computed in float32, cast to ``dtype``, and cached
        per (sizes, device, dtype): heads ask for the same anchors at every
        iteration. Callers get the cached tensors, so must not modify them in
        place (mmdet's heads do not).
        """
        sizes = self._check_sizes(featmap_sizes)
        device = torch.device(device)
        # inference-mode tensors cannot be saved for backward later
        key = (tuple(sizes), device, dtype,
               torch.is_inference_mode_enabled())
        cache = self.__dict__.setdefault('_prior_cache', OrderedDict())
        if key in cache:
            cache.move_to_end(key)
            return list(cache[key])
        if sizes == self._design_sizes:
            priors = super().grid_priors(
                sizes, dtype=torch.float32, device=device)
        else:
            priors = self._rescaled_priors(sizes, device)
        priors = [p.to(dtype) for p in priors]  # on device already
        cache[key] = priors
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
        return list(priors)

    def _rescaled_priors(self, sizes: List[Tuple[int, int]],
                         device: torch.device) -> List[Tensor]:
        """cvnets' layout for an input other than ``input_size``, float32,
        built on ``device``."""
        height = sizes[0][0] * self.output_strides[0]
        width = sizes[0][1] * self.output_strides[0]
        priors = []
        for base, (num_h, num_w) in zip(self.base_anchors, sizes):
            base = base.to(device)  # [A, 4]: the only copy, A * 4 values
            # [A] sizes of the design anchors, rescaled to this input
            anchor_w = (base[:, 2] - base[:, 0]) * (width / self.input_size)
            anchor_h = (base[:, 3] - base[:, 1]) * (height / self.input_size)
            ys = (torch.arange(num_h, dtype=torch.float32, device=device) +
                  0.5) * (height / num_h)
            xs = (torch.arange(num_w, dtype=torch.float32, device=device) +
                  0.5) * (width / num_w)
            cy, cx = torch.meshgrid(ys, xs, indexing='ij')
            cx, cy = cx.reshape(-1, 1), cy.reshape(-1, 1)  # [H*W, 1]
            # [H*W, A, 4] -> [H*W*A, 4], location-major as mmdet
            anchors = torch.stack([
                cx - anchor_w / 2, cy - anchor_h / 2, cx + anchor_w / 2,
                cy + anchor_h / 2
            ],
                                  dim=-1).reshape(-1, 4)
            priors.append(anchors)
        return priors

    def valid_flags(self,
                    featmap_sizes: List[Tuple[int, int]],
                    pad_shape: Tuple,
                    device: DeviceType = 'cuda') -> List[Tensor]:
        """mmdet's valid flags at ``input_size``; every anchor elsewhere
        (anchors are laid out over the whole input there)."""
        sizes = self._check_sizes(featmap_sizes)
        if sizes == self._design_sizes:
            return super().valid_flags(featmap_sizes, pad_shape, device)
        return [
            torch.ones(h * w * a, dtype=torch.bool, device=device)
            for (h, w), a in zip(sizes, self.num_base_priors)
        ]

    @property
    def _design_sizes(self) -> List[Tuple[int, int]]:
        return [(n, n) for n in self.expected_featmap_sizes]

    def _check_sizes(self, featmap_sizes) -> List[Tuple[int, int]]:
        sizes = [tuple(int(v) for v in size) for size in featmap_sizes]
        if len(sizes) != self.num_levels:
            raise ValueError(f'expected {self.num_levels} feature maps, got '
                             f'{len(sizes)}')
        return sizes

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(input_size={self.input_size}, '
                f'output_strides={self.output_strides}, '
                f'ratios={[r.tolist() for r in self.ratios]}, '
                f'scale_range={self.scale_range}, clip={self.clip}, '
                f'num_base_priors={self.num_base_priors})')

    @property
    def num_priors_at_input_size(self) -> int:
        """Total number of anchors for one ``input_size`` image."""
        return sum(
            n * n * a
            for n, a in zip(self.expected_featmap_sizes, self.num_base_priors))
