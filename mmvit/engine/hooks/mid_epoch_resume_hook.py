"""Resume an epoch-based run that was interrupted in the middle of an epoch.

mmengine 0.10's ``EpochBasedTrainLoop`` resumes a checkpoint saved inside an
epoch (``CheckpointHook(by_epoch=False)``) by running that epoch again from
its first batch while the iteration counter goes on from the checkpoint's:
the batches trained before the interruption are trained twice, and the run
ends that many iterations after ``max_iters``, past the end of the
iteration-based learning-rate schedules. (``IterBasedTrainLoop`` instead
fast-forwards its dataloader; this hook leaves it alone.)
"""
import logging
import numbers
from typing import Dict, Optional

from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop

from mmvit.registry import HOOKS

#: Where checkpoints keep the hook's record, in ``checkpoint['meta']``.
META_KEY = 'train_sampler'


def _seeded_samplers(dataloader) -> Dict[str, object]:
    """The train dataloader's samplers that shuffle with a ``seed``."""
    batch_sampler = getattr(dataloader, 'batch_sampler', None)
    found = {
        'sampler': getattr(batch_sampler, 'sampler', None),
        'batch_sampler': batch_sampler,
    }
    return {
        name: sampler
        for name, sampler in found.items()
        if isinstance(getattr(sampler, 'seed', None), numbers.Integral)
    }


def _samples_in_first(batch_sampler, epoch: int,
                      num_batches: int) -> Optional[int]:
    """How many samples (per process) the first ``num_batches`` batches of
    ``epoch`` hold, or None if the batch sampler does not tell. A batch
    sampler with an epoch ``plan`` (``MultiScaleVariableBatchSampler``) has
    batches of varying size; others have ``batch_size`` samples each."""
    plan = getattr(batch_sampler, 'plan', None)
    if callable(plan):
        return sum(row.batch_size for row in plan(epoch)[:num_batches])
    batch_size = getattr(batch_sampler, 'batch_size', None)
    sampler = getattr(batch_sampler, 'sampler', None)
    if isinstance(batch_size, int) and hasattr(sampler, '__len__'):
        return min(num_batches * batch_size, len(sampler))
    return None


def _first_batches(batch_sampler, epoch: int, num_batches: int) -> str:
    """'batches 1-k of epoch E (n samples)', numbered from 1 as mmengine's
    log does."""
    what = (f'batch 1 of epoch {epoch + 1}' if num_batches == 1 else
            f'batches 1-{num_batches} of epoch {epoch + 1}')
    samples = _samples_in_first(batch_sampler, epoch, num_batches)
    if samples is None:
        return what
    noun = 'sample' if samples == 1 else 'samples'
    world_size = get_world_size()
    if world_size > 1:
        noun += f' on each of {world_size} processes'
    return f'{what} ({samples} {noun})'


@HOOKS.register_module()
class MidEpochResumeHook(Hook):
    """Continue an interrupted epoch exactly where the checkpoint left it.

    Every checkpoint records how the train dataloader draws its epochs: the
    shuffle seeds of its sampler and batch sampler and the number of batches
    per epoch. On ``--resume`` (auto or from a file) of an epoch-based run:

    * the seeds are restored. The runner builds the dataloader before it
      reads the checkpoint, so without a fixed ``randomness.seed`` a resumed
      run would otherwise shuffle every epoch differently from the
      interrupted one;
    * the log states where the run resumed: iteration ``I``, epoch ``E``,
      after batch ``k`` of ``K``;
    * with a batch sampler that can skip batches (a ``skip_batches(epoch,
      num_batches)`` method, as
      :class:`~mmvit.datasets.multiscale.MultiScaleVariableBatchSampler`), the
      ``k`` batches trained before the interruption are left out: training
      continues with batch ``k + 1`` of the same epoch plan, with the samples,
      input sizes and learning rates of an uninterrupted run, and ends at
      ``max_iters``. The log's ``[i/K]`` batch counter of that epoch restarts
      at 1 (mmengine numbers the batches the loader yields);
    * with any other batch sampler, the log says that mmengine trains the
      first ``k`` batches (``n`` samples) of epoch ``E`` again and where the
      run will end.

    All processes read the same checkpoint and have the same ``K``, so they
    take the same decision. Augmentation randomness (numpy / torch RNG
    states) is not saved by mmengine and is not restored.

    Enable it in a config with
    ``custom_hooks = [dict(type='mmvit.MidEpochResumeHook')]``.
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self._state: Optional[dict] = None  # what checkpoints record
        self._resumed: Optional[dict] = None  # the loaded checkpoint's

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # load_from and resume both come here; before_train tells them apart
        self._resumed = checkpoint.get('meta', {}).get(META_KEY, {})

    def before_train(self, runner) -> None:
        if (isinstance(runner.train_loop, EpochBasedTrainLoop)
                and runner.iter > 0 and self._resumed is not None):
            self._resume(runner)
        loader = runner.train_dataloader
        self._state = dict(
            batches_per_epoch=len(loader),
            seeds={
                name: int(sampler.seed)
                for name, sampler in _seeded_samplers(loader).items()
            })

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._state is not None:
            checkpoint.setdefault('meta', {})[META_KEY] = dict(self._state)

    def _restore_seeds(self, loader, seeds: Dict[str, int]) -> None:
        restored = []
        for name, sampler in _seeded_samplers(loader).items():
            seed = seeds.get(name)
            if seed is not None and sampler.seed != seed:
                restored.append(
                    f'{name} {seed} (this run drew {sampler.seed})')
                sampler.seed = seed
        if restored:
            print_log(
                'MidEpochResumeHook: shuffle seeds restored from the '
                f'checkpoint: {", ".join(restored)}; the epochs follow the '
                "interrupted run's sample order",
                logger='current')

    def _resume(self, runner) -> None:
        loader = runner.train_dataloader
        batch_sampler = loader.batch_sampler
        per_epoch = len(loader)
        epoch, start = runner.epoch, runner.iter
        record = self._resumed
        saved_per_epoch = record.get('batches_per_epoch', per_epoch)
        if saved_per_epoch != per_epoch:
            print_log(
                f'MidEpochResumeHook: resumed at iteration {start} (epoch '
                f'{epoch + 1}), but the checkpoint was saved with '
                f'{saved_per_epoch} batches per epoch and this run has '
                f'{per_epoch} (another batch size, number of processes or '
                'dataset?): which samples of the epoch were trained before '
                'cannot be told, and mmengine trains the epoch from its '
                'first batch',
                logger='current',
                level=logging.WARNING)
            return
        self._restore_seeds(loader, record.get('seeds', {}))

        done = start - epoch * per_epoch  # batches of this epoch trained
        where = (f'MidEpochResumeHook: resumed at iteration {start} (epoch '
                 f'{epoch + 1}, after batch {done} of {per_epoch})')
        if not 0 <= done <= per_epoch:
            print_log(
                f'{where}: not a batch of this epoch (a checkpoint of another '
                'run?); nothing is skipped',
                logger='current',
                level=logging.WARNING)
            return
        if done == 0:
            print_log(
                f'{where}: the start of an epoch; nothing is trained twice',
                logger='current')
            return
        what = _first_batches(batch_sampler, epoch, done)
        can_skip = callable(getattr(batch_sampler, 'skip_batches', None))
        if record and can_skip:
            batch_sampler.skip_batches(epoch, done)
            if done < per_epoch:
                nxt = (f'with batch {done + 1} (logged as [{epoch + 1}]'
                       f'[1/{per_epoch}]: the log counts the batches it '
                       'trains)')
            else:
                nxt = 'with the end of the epoch'
            print_log(
                f'{where}: skipping {what}, trained before the interruption; '
                f'training continues {nxt} as in an uninterrupted run (same '
                'samples, sizes and learning rates) and ends at iteration '
                f'{runner.max_iters}',
                logger='current')
            return
        why = ('the checkpoint has no sampler record (saved without this '
               'hook), so the order may differ unless randomness.seed is '
               'fixed' if not record else
               f'{type(batch_sampler).__name__} cannot skip batches')
        print_log(
            f'{where}: mmengine trains epoch {epoch + 1} again from its first '
            'batch, so it trains again what was trained before the '
            f'interruption, {what} ({why}); the run ends at iteration '
            f'{runner.max_iters + done} instead of {runner.max_iters}, '
            f'{done} past the end of iteration-based schedules',
            logger='current',
            level=logging.WARNING)
