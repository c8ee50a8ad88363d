"""Interrupted training resumes (issue 11, point 4).

A real ``tools/train.py`` run of the MobileViT ImageNet config (XXS, HEAD's
table whose batch shrinks with the image area; the
multi-scale variable-batch sampler, tiny generated images) is killed with
SIGKILL after an iteration checkpoint, in the middle of an epoch, and
resumed with ``--resume``: ``mmvit.MidEpochResumeHook`` skips the batches
trained before the interruption, so the resumed run trains exactly the
batches, at the same sizes and learning rates, that an uninterrupted run
trains from there on, and ends at ``max_iters`` with a final checkpoint.
With a plain batch sampler, which cannot skip, the hook says which batches
mmengine trains again.

The subprocess runs import this module (``custom_imports``) for
:class:`ResumeTestRecorder`.
"""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
from conftest import SEED, parsed_config, run_ok
from mmengine.dataset import DefaultSampler
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import Runner
from multiscale_train_helpers import (SizeRecorder, make_image_folder,
                                      runner_kwargs)

from mmvit.compat import install_checkpoint_loader, load_local_checkpoint
from mmvit.datasets.multiscale import (MultiScaleVariableBatchSampler,
                                     build_scale_table, min_batches_for)
from mmvit.apis import build_runner, load_config

HERE = osp.dirname(osp.abspath(__file__))
REPO_ROOT = osp.dirname(osp.dirname(HERE))
IMAGENET_CFG = osp.join(REPO_ROOT, 'configs', 'mobilevit',
                        'mobilevit-xxsmall_8xb128-cvnets-head_in1k.py')

RECORD_ENV = 'MMVIT_RESUME_TEST_RECORD'  # JSON-lines file of the recorder
HOLD_ENV = 'MMVIT_RESUME_TEST_HOLD_AT'  # iteration to stop before

# 16 images, batch 8 at 64x64, sizes 64..128: (64, 8) (96, 3) (128, 2)
NUM_IMAGES = 16
BATCH = 8
SAMPLER = dict(base_size=64, min_size=64, max_size=128, num_scales=3)
EPOCHS = 3


@HOOKS.register_module(force=True)
class ResumeTestRecorder(Hook):
    """Appends one JSON line per training iteration, before it runs:
    iteration (1-based), epoch (1-based), learning rate, input size and
    sample indices. With ``$MMVIT_RESUME_TEST_HOLD_AT = i`` the run stops
    before iteration ``i`` and waits to be killed, so the test kills it at a
    known point whatever the machine's speed."""

    priority = 'VERY_LOW'

    def _write(self, line: dict) -> None:
        with open(os.environ[RECORD_ENV], 'a') as f:  # flushed on close
            f.write(json.dumps(line) + '\n')

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        iteration = runner.iter + 1
        if iteration == int(os.environ.get(HOLD_ENV, '0')):
            self._write(dict(held_before=iteration))
            while True:
                time.sleep(1)
        sizes = {tuple(x.shape[-2:]) for x in data_batch['inputs']}
        assert len(sizes) == 1, f'mixed sizes in one batch: {sizes}'
        self._write(
            dict(
                iter=iteration,
                epoch=runner.epoch + 1,
                lr=runner.optim_wrapper.get_lr()['lr'][0],
                size=list(sizes.pop()),
                samples=[
                    s.metainfo['sample_idx']
                    for s in data_batch['data_samples']
                ]))


def column(records: list, key: str) -> list:
    return [r[key] for r in records]


def read_records(path: str) -> list:
    """The complete lines (a running process may be writing the last)."""
    with open(path) as f:
        lines = f.read().split('\n')[:-1]
    return [json.loads(line) for line in lines]


def iterations_per_epoch() -> int:
    table = build_scale_table(batch_size=BATCH, **SAMPLER)
    return min_batches_for(NUM_IMAGES,
                           [min(r.batch_size, NUM_IMAGES) for r in table])


def write_config(path: str, image_folder: str, interval: int,
                 per_epoch: int) -> str:
    """The ImageNet XXS config on the image folder, short enough to test."""
    cfg = parsed_config(IMAGENET_CFG)
    assert dict(type='mmvit.MidEpochResumeHook') in cfg.custom_hooks
    loader = cfg.train_dataloader
    assert loader.batch_sampler.type == 'mmvit.MultiScaleVariableBatchSampler'
    loader.update(batch_size=BATCH, num_workers=0, persistent_workers=False)
    loader.batch_sampler.update(SAMPLER)
    inner = loader.dataset.dataset
    inner.update(
        type='CustomDataset',
        data_root=image_folder,
        data_prefix='',
        ann_file='',
        with_label=True)
    inner.pop('split', None)
    cfg.model.head.update(num_classes=2, topk=(1, ))
    cfg.model.data_preprocessor.num_classes = 2
    cfg.train_cfg = dict(by_epoch=True, max_epochs=EPOCHS)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    # the config's warm-up and cosine, scaled to the run: the learning rate
    # changes at every iteration, so an offset schedule shows
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, cosine.type) == ('LinearLR', 'CosineAnnealingLR')
    warmup.end = 2 * per_epoch
    cosine.end = EPOCHS
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=interval)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.custom_hooks.append(dict(type='ResumeTestRecorder'))
    cfg.custom_imports.imports.append('test_resume')
    cfg.randomness = dict(seed=SEED)
    cfg.dump(path)
    return path


def kill_after_checkpoint(cmd, env: dict, checkpoint: str, hold: int,
                          log_path: str) -> None:
    """Run ``cmd`` until it holds before iteration ``hold`` (the checkpoint
    written and an iteration trained past it), then SIGKILL it."""
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 500  # a guard against hangs only
    try:
        while not (osp.exists(env[RECORD_ENV]) and any(
                r.get('held_before') == hold
                for r in read_records(env[RECORD_ENV]))):
            assert proc.poll() is None and time.monotonic() < deadline, (
                f'the run ended or hung before iteration {hold}:\n' +
                open(log_path).read()[-4000:])
            time.sleep(0.5)
        assert osp.exists(checkpoint)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.slow
def test_killed_run_resumes_exactly_where_its_checkpoint_left(
        tmp_path, monkeypatch):
    per_epoch = iterations_per_epoch()
    assert per_epoch >= 3
    done = per_epoch // 2  # batches of epoch 2 in the checkpoint
    interval = per_epoch + done  # the checkpoint: iter_{interval}.pth
    max_iters = EPOCHS * per_epoch
    image_folder = make_image_folder(
        str(tmp_path / 'images'),
        num_classes=2,
        per_class=NUM_IMAGES // 2,
        seed=SEED)
    config = write_config(
        str(tmp_path / 'resume_cfg.py'), image_folder, interval, per_epoch)
    work_dir = str(tmp_path / 'work')
    train = [
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'train.py'), config, '--work-dir',
        work_dir
    ]
    env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        PYTHONPATH=os.pathsep.join(
            [HERE, osp.dirname(HERE),
             os.environ.get('PYTHONPATH', '')]))

    # 1. train, killed after the checkpoint and one more iteration
    checkpoint = osp.join(work_dir, f'iter_{interval}.pth')
    killed = str(tmp_path / 'killed.jsonl')
    kill_after_checkpoint(
        train,
        dict(env, **{
            RECORD_ENV: killed,
            HOLD_ENV: str(interval + 2)
        }),
        checkpoint,
        hold=interval + 2,
        log_path=str(tmp_path / 'killed.log'))
    seed = load_local_checkpoint(checkpoint)['meta']['seed']
    assert seed == SEED

    # 2. resume (auto: the latest checkpoint of the work dir), under another
    # seed: the hook restores the checkpoint's sampler seeds
    resumed = str(tmp_path / 'resumed.jsonl')
    output = run_ok(
        train + ['--resume', '--cfg-options', f'randomness.seed={SEED + 1}'],
        cwd=REPO_ROOT,
        env=dict(env, **{RECORD_ENV: resumed}))

    # 3. the uninterrupted run, in this process
    monkeypatch.setenv(RECORD_ENV, str(tmp_path / 'uninterrupted.jsonl'))
    build_runner(load_config(config, work_dir=str(tmp_path / 'ref'))).train()
    reference = read_records(os.environ[RECORD_ENV])
    assert column(reference, 'iter') == list(range(1, max_iters + 1))

    def batches(records):
        return [(r['iter'], r['epoch'], r['size'], r['samples'])
                for r in records]

    first = [r for r in read_records(killed) if 'iter' in r]
    assert batches(first) == batches(reference[:interval + 1])
    second = read_records(resumed)
    # iterations go on from the checkpoint's, with the batches (samples and
    # sizes) and learning rates of the uninterrupted run, up to max_iters
    assert column(second, 'iter') == list(range(interval + 1, max_iters + 1))
    assert batches(second) == batches(reference[interval:])
    assert second[0]['epoch'] == 2
    assert column(second, 'lr') == pytest.approx(
        column(reference[interval:], 'lr'), rel=1e-9)
    lrs = column(reference, 'lr')
    assert len(set(lrs)) == len(lrs)  # a schedule that shows an offset
    # mmengine's own log of the resumed run (its newest log dir) agrees
    log_dir = sorted(
        d for d in os.listdir(work_dir)
        if osp.isdir(osp.join(work_dir, d)))[-1]
    logged = read_records(
        osp.join(work_dir, log_dir, 'vis_data', 'scalars.json'))
    assert column(logged, 'iter') == column(second, 'iter')
    assert column(logged, 'lr') == pytest.approx(
        column(second, 'lr'), rel=1e-9)
    assert osp.exists(osp.join(work_dir, f'iter_{max_iters}.pth'))
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read().strip().endswith(f'iter_{max_iters}.pth')

    # the log says where it resumed and which batches it skipped
    assert f'Auto resumed from the latest checkpoint {checkpoint}' in output
    assert f'resumed epoch: 1, iter: {interval}' in output
    skipped = sum(len(r['samples']) for r in reference[per_epoch:interval])
    assert (f'resumed at iteration {interval} (epoch 2, after batch {done} '
            f'of {per_epoch}): skipping batches 1-{done} of epoch 2 '
            f'({skipped} samples), trained before the interruption; '
            f'training continues with batch {done + 1} (logged as '
            f'[2][1/{per_epoch}]') in output
    assert f'ends at iteration {max_iters}' in output
    assert (f'shuffle seeds restored from the checkpoint: sampler {SEED} '
            f'(this run drew {SEED + 1}), batch_sampler {SEED}') in output
    assert f'Saving checkpoint at {max_iters} iterations' in output


@pytest.mark.slow
def test_plain_batch_sampler_resume_says_what_is_trained_again(tmp_path):
    """Without a batch sampler that can skip, mmengine trains the first
    batches of the interrupted epoch again; the hook says which and restores
    the shuffle seed, so they are the same samples."""
    install_checkpoint_loader()  # as tools/train.py does (via mmvit.models)
    image_folder = make_image_folder(
        str(tmp_path / 'images'), num_classes=2, per_class=12, seed=SEED)
    per_epoch, done = 6, 2  # 24 images in batches of 4

    def kwargs(work_dir, recorder, seed, **extra):
        kw = runner_kwargs(
            image_folder,
            str(tmp_path / work_dir),
            max_epochs=2,
            num_workers=0,
            **extra)
        del kw['train_dataloader']['batch_sampler']  # torch's BatchSampler
        kw.update(
            custom_hooks=[recorder,
                          dict(type='mmvit.MidEpochResumeHook')],
            randomness=dict(seed=seed))
        return kw

    first = SizeRecorder()
    runner = Runner(**kwargs(
        'a',
        first,
        SEED,
        checkpoint=dict(
            type='CheckpointHook',
            interval=per_epoch + done,
            by_epoch=False,
            save_last=False)))
    runner.train()
    assert len(runner.train_dataloader) == per_epoch
    checkpoint = str(tmp_path / 'a' / f'iter_{per_epoch + done}.pth')

    second = SizeRecorder()
    runner = Runner(
        **kwargs('b', second, SEED + 1), resume=True, load_from=checkpoint)
    runner.train()
    with open(osp.join(runner.log_dir, f'{runner.timestamp}.log')) as f:
        log = f.read()
    assert (f'resumed at iteration {per_epoch + done} (epoch 2, after batch '
            f'{done} of {per_epoch}): mmengine trains epoch 2 again from its '
            'first batch') in log
    assert ('so it trains again what was trained before the interruption, '
            f'batches 1-{done} of epoch 2 ({done * 4} samples) (BatchSampler '
            'cannot skip batches); the run ends at iteration '
            f'{2 * per_epoch + done} instead of {2 * per_epoch}') in log
    # the whole epoch again, in the interrupted run's order (seed restored)
    assert [r[2:] for r in second.records
            ] == [r[2:] for r in first.records if r[0] == 1]
    assert runner.iter == 2 * per_epoch + done


@pytest.mark.slow
def test_resume_after_the_last_batch_of_an_epoch_runs_only_its_end(tmp_path):
    """A checkpoint of the epoch's last iteration precedes the epoch's end
    (by-epoch hooks, validation): the resumed run skips every batch of that
    epoch, runs its end and goes on with the next epoch."""
    install_checkpoint_loader()
    image_folder = make_image_folder(
        str(tmp_path / 'images'), num_classes=2, per_class=12, seed=SEED)
    # the helpers' sampler: base 64, batch 4, sizes 32..96, 3 scales
    table = build_scale_table(64, 4, 32, 96, num_scales=3)
    per_epoch = min_batches_for(24, [min(r.batch_size, 24) for r in table])

    def kwargs(work_dir, recorder, **extra):
        kw = runner_kwargs(
            image_folder,
            str(tmp_path / work_dir),
            max_epochs=2,
            num_workers=0,
            **extra)
        kw.update(
            custom_hooks=[recorder,
                          dict(type='mmvit.MidEpochResumeHook')],
            randomness=dict(seed=SEED),
            log_level='INFO')
        return kw

    first = SizeRecorder()
    Runner(**kwargs(
        'a',
        first,
        checkpoint=dict(
            type='CheckpointHook',
            interval=per_epoch,
            by_epoch=False,
            save_last=False))).train()
    second = SizeRecorder()
    runner = Runner(
        **kwargs('b', second),
        resume=True,
        load_from=str(tmp_path / 'a' / f'iter_{per_epoch}.pth'))
    runner.train()
    with open(osp.join(runner.log_dir, f'{runner.timestamp}.log')) as f:
        log = f.read()
    assert (f'resumed at iteration {per_epoch} (epoch 1, after batch '
            f'{per_epoch} of {per_epoch}): skipping batches 1-{per_epoch} of '
            'epoch 1 (') in log
    assert 'training continues with the end of the epoch' in log
    assert second.records == [r for r in first.records if r[0] == 1]
    assert runner.iter == 2 * per_epoch


class _Images:
    """A dataset stand-in that reads sized indices."""

    accepts_sized_indices = True

    def __len__(self) -> int:
        return 21


@pytest.mark.parametrize('skip', [0, 1, 'all but one', 'all'])
def test_skip_batches_leaves_out_the_first_batches_of_the_same_pass(skip):
    batch_sampler = MultiScaleVariableBatchSampler(
        DefaultSampler(_Images(), shuffle=True, seed=SEED),
        batch_size=4,
        base_size=64,
        min_size=32,
        max_size=96,
        num_scales=3)
    num_batches = len(batch_sampler)
    skip = {'all but one': num_batches - 1, 'all': num_batches}.get(skip, skip)
    batch_sampler.set_epoch(3)
    whole = list(batch_sampler)
    assert len(whole) == num_batches
    batch_sampler.skip_batches(3, skip)
    assert list(batch_sampler) == whole[skip:]
    assert list(batch_sampler) == whole  # once only


def test_skip_batches_of_another_epoch_or_too_many_skips_nothing():
    batch_sampler = MultiScaleVariableBatchSampler(
        DefaultSampler(_Images(), shuffle=True, seed=SEED), batch_size=4)
    whole = list(batch_sampler)  # epoch 0
    batch_sampler.skip_batches(1, 1)
    assert list(batch_sampler) == whole  # warned: not the epoch of the pass
    with pytest.raises(ValueError, match='num_batches must be in'):
        batch_sampler.skip_batches(0, len(batch_sampler) + 1)
