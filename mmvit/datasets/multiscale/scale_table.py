"""The (height, width, batch size) table of the multi-scale sampler.

MobileViT (Mehta & Rastegari, ICLR 2022, Sec. 4 "Multi-scale sampler")
trains on several resolutions and gives each one a batch size that keeps the
number of pixels per batch about constant:
``b_t = H_ref * W_ref * b / (H_t * W_t)``. This module builds that table the
way the authors' code (ml-cvnets ``image_batch_pairs``) does.
"""
from typing import List, NamedTuple, Sequence, Tuple, Union

import numpy as np

# the authors' rounding rule, one home (it also sizes MobileViT's layers)
from mmvit.models.layers.make_divisible import make_divisible  # noqa: F401

SizeArg = Union[int, Sequence[int]]


class ScaleBatch(NamedTuple):
    """One row of the scale table: an input size and its batch size."""

    height: int
    width: int
    batch_size: int


def to_hw(size: SizeArg, name: str) -> Tuple[int, int]:
    """Normalise an ``int`` or ``(h, w)`` size argument to ``(h, w)``.

    Args:
        size (int | Sequence[int]): A square side or a ``(height, width)``.
        name (str): The argument's name, used in error messages.

    Returns:
        tuple[int, int]: ``(height, width)``.
    """
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        hw = (int(size), int(size))
    elif (isinstance(size, Sequence) and len(size) == 2
          and all(isinstance(v, (int, np.integer)) for v in size)):
        hw = (int(size[0]), int(size[1]))
    else:
        raise TypeError(
            f'{name} must be an int or a (height, width) pair of ints, '
            f'but got {size!r}')
    if min(hw) <= 0:
        raise ValueError(f'{name} must be positive, but got {size!r}')
    return hw


def _check_axis(name: str, low: int, high: int, divisor: int) -> None:
    if low > high:
        raise ValueError(
            f'min_size must not exceed max_size, but the {name} range is '
            f'{low} > {high}')
    if high // divisor * divisor < low:
        raise ValueError(
            f'the {name} range [{low}, {high}] holds no multiple of '
            f'size_divisor={divisor}; widen the range or lower size_divisor')


def build_scale_table(base_size: SizeArg,
                      batch_size: int,
                      min_size: SizeArg,
                      max_size: SizeArg,
                      num_scales: int = 5,
                      size_divisor: int = 32,
                      clamp_to_base_batch: bool = False,
                      batch_size_divisor: int = 1) -> List[ScaleBatch]:
    """Build the sorted multi-scale table ``[(h, w, batch_size), ...]``.

    ``num_scales`` sizes are spread linearly from ``min_size`` to
    ``max_size`` (height and width together, so non-square ranges keep their
    pairing), the reference ``base_size`` is added, every side is rounded to
    a multiple of ``size_divisor`` and duplicates are removed. The batch size
    of a size ``(h, w)`` is ``max(1, floor(H_ref * W_ref * b / (h * w)))``
    (the authors' ``int(round(x, 2))``), so the reference size keeps ``b``.

    With base 256, b 128, sizes 160..320 and 5 scales the table is
    ``(160, 160, 327), (192, 192, 227), (256, 256, 128), (288, 288, 101),
    (320, 320, 81)``.

    Args:
        base_size (int | Sequence[int]): Reference size ``(H_ref, W_ref)``;
            must be a multiple of ``size_divisor``.
        batch_size (int): Batch size ``b`` at the reference size.
        min_size (int | Sequence[int]): Smallest ``(h, w)`` of the range.
        max_size (int | Sequence[int]): Largest ``(h, w)`` of the range.
        num_scales (int): Number of sizes spread over the range (before the
            reference size is added and duplicates removed). Defaults to 5.
        size_divisor (int): Every side is a multiple of it. Defaults to 32.
        clamp_to_base_batch (bool): The paper-era variant (ml-cvnets v0.1):
            a size never gets a batch smaller than ``b``, i.e. sizes above the
            reference keep the reference batch (and so exceed its pixel
            budget). Defaults to False (the current authors' rule).
        batch_size_divisor (int): Round every batch size to a multiple of it,
            as v0.1 did with the number of GPUs for DataParallel.
            Defaults to 1.

    Returns:
        list[ScaleBatch]: Rows sorted by ``(height, width)``.
    """
    if (not isinstance(batch_size, (int, np.integer))
            or isinstance(batch_size, bool) or batch_size <= 0):
        raise ValueError(
            f'batch_size must be a positive int, but got {batch_size!r}')
    if not isinstance(num_scales, int) or num_scales < 1:
        raise ValueError(
            f'num_scales must be a positive int, but got {num_scales!r}')
    for name, value in (('size_divisor', size_divisor), ('batch_size_divisor',
                                                         batch_size_divisor)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(
                f'{name} must be a positive int, but got {value!r}')
    base_h, base_w = to_hw(base_size, 'base_size')
    min_h, min_w = to_hw(min_size, 'min_size')
    max_h, max_w = to_hw(max_size, 'max_size')
    if base_h % size_divisor or base_w % size_divisor:
        raise ValueError(f'base_size {(base_h, base_w)} must be a multiple of '
                         f'size_divisor={size_divisor}')
    _check_axis('height', min_h, max_h, size_divisor)
    _check_axis('width', min_w, max_w, size_divisor)

    sizes = {(base_h, base_w)}
    for h, w in zip(
            np.linspace(min_h, max_h, num_scales),
            np.linspace(min_w, max_w, num_scales)):
        sizes.add(
            (make_divisible(h, size_divisor), make_divisible(w, size_divisor)))

    pixel_budget = base_h * base_w * batch_size
    table = []
    for h, w in sorted(sizes):
        scaled = max(1, int(round(pixel_budget / (h * w), 2)))
        if clamp_to_base_batch:
            scaled = max(batch_size, scaled)
        if batch_size_divisor > 1:
            scaled = make_divisible(scaled, batch_size_divisor)
        table.append(ScaleBatch(h, w, scaled))
    return table


def min_batches_for(num_samples: int, batch_sizes: Sequence[int]) -> int:
    """Fewest batches of a balanced plan that always hold ``num_samples``.

    A balanced plan of ``k = q * S + r`` batches over ``S`` scales uses every
    scale ``q`` times plus ``r`` distinct scales once more. Its capacity is
    at least ``q * sum(batch_sizes)`` plus the ``r`` smallest batch sizes,
    whichever ``r`` scales are drawn; this returns the smallest such ``k``
    whose guaranteed capacity reaches ``num_samples``.

    Args:
        num_samples (int): Samples to cover (one rank's share of an epoch).
        batch_sizes (Sequence[int]): Batch size of each scale.

    Returns:
        int: The number of batches.
    """
    total = sum(batch_sizes)
    full_rounds, rest = divmod(num_samples, total)
    num_batches = full_rounds * len(batch_sizes)
    if rest:
        smallest = sorted(batch_sizes)
        capacity = 0
        for extra, size in enumerate(smallest, start=1):
            capacity += size
            if capacity >= rest:
                num_batches += extra
                break
    return num_batches
