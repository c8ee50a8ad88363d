"""MobileViT's multi-scale variable-batch sampler as an mmengine batch sampler.

mmengine's runner builds a ``batch_sampler`` from ``DATA_SAMPLERS`` with the
built ``sampler=`` (e.g. ``DefaultSampler``, which shuffles with the runner's
seed + epoch and shards per rank) and the config's ``batch_size=``. This
sampler regroups that rank's indices into batches of varying input size, and
tags each index with its batch's size so that :class:`MultiScaleDataset`
can hand the size to the data pipeline.
"""
import itertools
import logging
import math
from typing import Iterator, List, NamedTuple, Optional, Sized, Tuple

import numpy as np
from mmengine.dist import sync_random_seed
from mmengine.logging import print_log
from torch.utils.data import Sampler

from mmvit.registry import DATA_SAMPLERS
from .scale_table import (ScaleBatch, SizeArg, build_scale_table,
                          min_batches_for)


class SizedIndex(NamedTuple):
    """A dataset index tagged with the input size of the batch holding it.

    The sampler yields lists of these; :class:`MultiScaleDataset` unpacks
    them. A plain tuple ``(height, width, index)`` works the same way.
    """

    height: int
    width: int
    index: int


@DATA_SAMPLERS.register_module()
class MultiScaleVariableBatchSampler(Sampler):
    """Multi-scale sampler with a constant pixel budget per batch.

    Each batch has one input size ``(h, w)`` from the scale table
    (:func:`build_scale_table`) and ``b_t = H_ref * W_ref * b / (h * w)``
    samples, so small inputs come in large batches and an epoch needs fewer
    optimizer steps (Mehta & Rastegari, ICLR 2022, Sec. 4).

    The epoch plan -- the sequence of ``(h, w, batch size)`` -- is drawn
    from a generator seeded with ``(seed, epoch)``, where ``seed`` is the
    wrapped sampler's seed (mmengine passes the runner's seed to it), so every
    rank draws the same plan and runs the same number of iterations with the
    same size at each iteration. The samples come from the wrapped sampler,
    which gives each rank its own shard.

    The plan is *balanced*: with ``S`` scales and ``K = q * S + r`` batches,
    every scale is used ``q`` times and ``r`` distinct random scales once
    more, in random order. ``K`` is the smallest number of batches whose
    capacity holds all ``N`` samples of the rank whatever ``r`` scales are
    drawn (:func:`min_batches_for`); it depends only on ``N`` and the table,
    so ``len()`` is exact and the same on every rank and every epoch. The
    capacity left over after the rank's ``N`` samples (at most a few batches,
    a fraction of a percent of an ImageNet epoch) is filled by wrapping around
    to the first samples of the rank's shuffled list, so every sample is used
    at least once and a few twice. Scales are drawn equally often, as with
    the authors' per-batch uniform draw, so an epoch takes about
    ``N * S / sum(b_t)`` steps (0.74x the fixed-batch count for the ImageNet
    table).

    Batch sizes are capped at ``N``, so tiny datasets give short plans rather
    than batches that repeat one sample many times.

    Iteration-based loops work too: with ``DefaultSampler`` the loop's
    re-iteration sets the next epoch; with ``InfiniteSampler`` (no epoch) each
    pass reads the next ``len(sampler)`` indices of its endless stream and the
    pass count seeds the plan.

    Resuming in the middle of an epoch: :meth:`skip_batches` makes the next
    pass over that epoch leave out the batches trained before the
    interruption, so the run continues exactly (``mmvit.MidEpochResumeHook``
    calls it).

    Args:
        sampler (Sampler): The per-rank index sampler, built by the runner
            from the dataloader's ``sampler`` config. Its ``set_epoch`` is
            what mmengine's hooks call (``batch_sampler.sampler.set_epoch``).
        batch_size (int): Batch size ``b`` at ``base_size`` (per rank; the
            dataloader's ``batch_size``, passed by the runner).
        base_size (int | Sequence[int]): Reference size ``(H_ref, W_ref)``.
            Defaults to 256.
        min_size (int | Sequence[int]): Smallest size. Defaults to 160.
        max_size (int | Sequence[int]): Largest size. Defaults to 320.
        num_scales (int): Sizes spread over ``[min_size, max_size]``.
            Defaults to 5.
        size_divisor (int): Every side is a multiple of it. Defaults to 32.
        clamp_to_base_batch (bool): Paper-era (ml-cvnets v0.1) table, where
            sizes above the reference keep batch ``b``. Defaults to False.
        batch_size_divisor (int): Round batch sizes to a multiple of it.
            Defaults to 1.
    """

    def __init__(self,
                 sampler: Sampler,
                 batch_size: int,
                 base_size: SizeArg = 256,
                 min_size: SizeArg = 160,
                 max_size: SizeArg = 320,
                 num_scales: int = 5,
                 size_divisor: int = 32,
                 clamp_to_base_batch: bool = False,
                 batch_size_divisor: int = 1) -> None:
        if not isinstance(sampler, Sized):
            raise TypeError(
                'sampler must be a sized index sampler such as mmengine '
                f'DefaultSampler, but got {type(sampler).__name__}')
        self.sampler = sampler
        self.batch_size = batch_size
        self.scale_table = build_scale_table(
            base_size=base_size,
            batch_size=batch_size,
            min_size=min_size,
            max_size=max_size,
            num_scales=num_scales,
            size_divisor=size_divisor,
            clamp_to_base_batch=clamp_to_base_batch,
            batch_size_divisor=batch_size_divisor)
        self._check_dataset()

        if len(sampler) == 0:
            raise ValueError(
                f'{type(self).__name__} got a sampler with no sample on this '
                'rank (an empty dataset, or fewer samples than ranks with '
                'round_up=False); every rank needs at least one sample')
        self.num_samples = self._samples_per_rank()
        self.batch_sizes = [
            min(row.batch_size, self.num_samples) for row in self.scale_table
        ]
        self.num_batches = min_batches_for(self.num_samples, self.batch_sizes)

        seed = getattr(sampler, 'seed', None)
        self.seed = sync_random_seed() if seed is None else int(seed)
        self._passes = 0
        self._stream: Optional[Iterator[int]] = None
        self._skip: Optional[Tuple[int, int]] = None  # (epoch, batches)
        print_log(
            f'{type(self).__name__}: {self.num_batches} batches per epoch '
            f'for {self.num_samples} samples per rank; (h, w, batch): '
            f'{[tuple(row) for row in self.scale_table]}',
            logger='current')

    def _check_dataset(self) -> None:
        dataset = getattr(self.sampler, 'dataset', None)
        if dataset is not None and not getattr(dataset,
                                               'accepts_sized_indices', False):
            raise TypeError(
                f'{type(self).__name__} yields (height, width, index) items, '
                f'which {type(dataset).__name__} cannot read: wrap the '
                "dataset as dict(type='mmvit.MultiScaleDataset', "
                'dataset=...) and put the size-dependent transform in '
                "dict(type='mmvit.SampledSizeTransform', ...)")

    def _samples_per_rank(self) -> int:
        """Samples per rank, equal on every rank (for equal plans)."""
        dataset = getattr(self.sampler, 'dataset', None)
        world_size = getattr(self.sampler, 'world_size', None)
        if (dataset is not None and world_size
                and getattr(self.sampler, 'round_up', True) is False):
            # DefaultSampler(round_up=False) gives ranks 0..r one sample more
            # than the others; plan for the largest share and wrap the rest.
            return math.ceil(len(dataset) / world_size)
        return len(self.sampler)

    @property
    def epoch(self) -> int:
        """The wrapped sampler's epoch (set by mmengine's hooks), or, for a
        sampler without one (``InfiniteSampler``), the number of passes."""
        return getattr(self.sampler, 'epoch', self._passes)

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch of the wrapped sampler (mmengine calls that one)."""
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)
        else:
            self.sampler.epoch = epoch

    def plan(self, epoch: int) -> List[ScaleBatch]:
        """The ``(height, width, batch_size)`` of every batch of ``epoch``.

        Depends only on the seed, the epoch, the table and the sample count,
        so it is the same on every rank and after a resume.
        """
        rng = np.random.default_rng([self.seed % 2**32, epoch])
        num_rows = len(self.scale_table)
        full_rounds, extra = divmod(self.num_batches, num_rows)
        rows = list(range(num_rows)) * full_rounds
        rows += rng.choice(num_rows, size=extra, replace=False).tolist()
        rng.shuffle(rows)
        return [
            ScaleBatch(self.scale_table[i].height, self.scale_table[i].width,
                       self.batch_sizes[i]) for i in rows
        ]

    def skip_batches(self, epoch: int, num_batches: int) -> None:
        """Leave out the first ``num_batches`` batches of the next pass,
        which must be over ``epoch`` (once; later passes are whole).

        The pass still draws the epoch's plan and sample order, so the
        batches it yields are exactly batches ``num_batches + 1 ...`` of an
        uninterrupted pass: resuming mid-epoch continues the run instead of
        training the epoch's first batches again.

        Args:
            epoch (int): The epoch of the next pass (0-based, as
                ``set_epoch``).
            num_batches (int): Batches to leave out, ``0 ... len(self)``.
        """
        if not 0 <= num_batches <= self.num_batches:
            raise ValueError(
                f'num_batches must be in [0, {self.num_batches}] (the '
                f'batches of an epoch), got {num_batches}')
        self._skip = (int(epoch), int(num_batches))

    def _take_skip(self, epoch: int) -> int:
        """The batches to leave out of this pass over ``epoch``."""
        if self._skip is None:
            return 0
        (skip_epoch, num_batches), self._skip = self._skip, None
        if skip_epoch != epoch:
            print_log(
                f'{type(self).__name__}: asked to skip {num_batches} batches '
                f'of epoch {skip_epoch}, but this pass is over epoch {epoch} '
                '(is set_epoch called before the pass, e.g. by '
                'DistSamplerSeedHook?); nothing is skipped',
                logger='current',
                level=logging.WARNING)
            return 0
        return num_batches

    def __iter__(self) -> Iterator[List[SizedIndex]]:
        epoch = self.epoch
        plan = self.plan(epoch)
        skip = self._take_skip(epoch)
        self._passes += 1
        if hasattr(self.sampler, 'epoch'):  # a new permutation every epoch
            source = iter(self.sampler)
        else:  # one endless stream (InfiniteSampler): keep reading it
            if self._stream is None:
                self._stream = iter(self.sampler)
            source = self._stream
        indices = list(itertools.islice(source, self.num_samples))
        capacity = sum(row.batch_size for row in plan)
        stream = itertools.islice(itertools.cycle(indices), capacity)
        for i, row in enumerate(plan):
            batch = [
                SizedIndex(row.height, row.width, index)
                for index in itertools.islice(stream, row.batch_size)
            ]
            if i >= skip:  # drawn either way: later batches stay the same
                yield batch

    def __len__(self) -> int:
        """The exact number of batches of every epoch, on every rank."""
        return self.num_batches

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(batch_size={self.batch_size}, '
                f'num_batches={self.num_batches}, '
                f'scale_table={[tuple(row) for row in self.scale_table]})')
