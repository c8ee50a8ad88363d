"""MultiScaleVariableBatchSampler in real mmengine runs: workers, resume,
the ImageNet, detection and segmentation configs and a 2-process torchrun
(gloo) job."""
import glob
import json
import os
import os.path as osp
import signal
import subprocess
import sys

import pytest
from conftest import SEED, parsed_config, set_norm
from mmengine.runner import Runner
from multiscale_train_helpers import (SizeRecorder, make_image_folder,
                                      runner_kwargs)

from mmvit.compat import install_checkpoint_loader
from mmvit.datasets.multiscale import build_scale_table, min_batches_for

pytestmark = pytest.mark.slow

HERE = osp.dirname(osp.abspath(__file__))
REPO_ROOT = osp.dirname(osp.dirname(HERE))
NUM_IMAGES = 24  # 2 classes x 12


@pytest.fixture(scope='module')
def image_folder(tmp_path_factory):
    return make_image_folder(
        str(tmp_path_factory.mktemp('images')), num_classes=2, per_class=12)


def per_epoch(records, epoch):
    return [r for r in records if r[0] == epoch]


def check_epochs_follow_plans(records, batch_sampler, epochs, num_samples):
    for epoch in epochs:
        got = per_epoch(records, epoch)
        plan = batch_sampler.plan(epoch)
        assert [(h, w, len(idx))
                for _, _, h, w, idx in got] == [tuple(row) for row in plan]
        assert {i for *_, idx in got for i in idx} == set(range(num_samples))


def test_runner_trains_with_the_sampler_and_persistent_workers(
        image_folder, tmp_path):
    recorder = SizeRecorder()
    runner = Runner(**runner_kwargs(
        image_folder,
        str(tmp_path),
        max_epochs=2,
        num_workers=2,
        recorder=recorder,
        seed=SEED))
    runner.train()
    batch_sampler = runner.train_dataloader.batch_sampler
    num_batches = len(runner.train_dataloader)
    assert num_batches == len(batch_sampler)
    assert runner.iter == runner.train_loop.max_iters == 2 * num_batches
    check_epochs_follow_plans(recorder.records, batch_sampler, (0, 1),
                              NUM_IMAGES)
    assert len({(h, w) for _, _, h, w, _ in recorder.records}) > 1


def test_resume_mid_epoch_replays_that_epoch_with_the_same_plan(
        image_folder, tmp_path):
    install_checkpoint_loader()  # as mmvit.models and tools/train.py do
    # the helpers' sampler: base 64, batch 4, sizes 32..96, 3 scales
    sizes = [
        min(r.batch_size, NUM_IMAGES)
        for r in build_scale_table(64, 4, 32, 96, num_scales=3)
    ]
    per_epoch_iters = min_batches_for(NUM_IMAGES, sizes)
    assert per_epoch_iters >= 3
    stop_at = per_epoch_iters + 2  # 2 iterations into epoch 1

    # run A: 2 epochs, a checkpoint in the middle of epoch 1
    first = SizeRecorder()
    runner = Runner(**runner_kwargs(
        image_folder,
        str(tmp_path / 'a'),
        max_epochs=2,
        num_workers=0,
        recorder=first,
        seed=SEED,
        checkpoint=dict(
            type='CheckpointHook',
            interval=stop_at,
            by_epoch=False,
            save_last=False)))
    runner.train()
    assert len(runner.train_dataloader) == per_epoch_iters
    checkpoint = str(tmp_path / 'a' / f'iter_{stop_at}.pth')
    assert osp.exists(checkpoint)

    # run B: resume from it
    second = SizeRecorder()
    kwargs = runner_kwargs(
        image_folder,
        str(tmp_path / 'b'),
        max_epochs=2,
        num_workers=0,
        recorder=second,
        seed=SEED)
    runner = Runner(**kwargs, resume=True, load_from=checkpoint)  # --resume
    runner.train()
    # mmengine restarts the interrupted epoch from its first batch; the
    # plan (seeded by runner seed + epoch) and sample order are the same
    assert [r[2:] for r in second.records
            ] == [r[2:] for r in per_epoch(first.records, 1)]
    assert runner.iter == stop_at + per_epoch_iters


@pytest.mark.parametrize('name',
                         ['mobilevit-xxsmall_8xb128-cvnets-head_in1k.py'])
def test_imagenet_config_trains_a_few_iterations(tmp_path, name):
    # 6 images, 2 per batch at 256x256: HEAD's table (batch ~ 1 / area)
    # capped at 6 images gives a 4-iteration epoch (v0.1's rounding to
    # multiples of 8 would put all 6 in every batch)
    image_folder = make_image_folder(
        str(tmp_path / 'images'), num_classes=2, per_class=3)
    path = osp.join(REPO_ROOT, 'configs', 'mobilevit', name)
    cfg = parsed_config(path)
    loader = cfg.train_dataloader
    assert loader.batch_sampler.type == 'mmvit.MultiScaleVariableBatchSampler'
    assert loader.dataset.type == 'mmvit.MultiScaleDataset'
    # generated data, 2 images per batch at the reference size, 1 worker
    loader.batch_size = 2
    loader.num_workers = 1
    inner = loader.dataset.dataset
    inner.update(
        type='CustomDataset',
        data_root=image_folder,
        data_prefix='',
        ann_file='',
        with_label=True)
    inner.pop('split', None)
    cfg.model.head.num_classes = 2
    cfg.model.data_preprocessor.num_classes = 2
    cfg.model.head.topk = (1, )
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.work_dir = str(tmp_path / 'work')
    cfg.default_hooks.checkpoint = None
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    recorder = SizeRecorder()
    runner.register_hook(recorder)
    runner.train()
    assert runner.iter == len(runner.train_dataloader) == 4
    check_epochs_follow_plans(recorder.records,
                              runner.train_dataloader.batch_sampler, (0, ), 6)


def test_two_process_gloo_training_has_equal_iterations(
        image_folder, tmp_path):
    script = osp.join(HERE, 'multiscale_train_helpers.py')
    cmd = [
        sys.executable, '-m', 'torch.distributed.run', '--standalone',
        '--nproc_per_node', '2', script, image_folder,
        str(tmp_path), '--epochs', '2', '--seed', str(SEED)
    ]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=100)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # torchrun and its workers
        output, _ = proc.communicate()
        pytest.fail(f'2-process run did not finish (hang?):\n{output[-4000:]}')
    assert proc.returncode == 0, output[-4000:]

    ranks = [
        json.load(open(p))
        for p in sorted(glob.glob(str(tmp_path / 'rank*.json')))
    ]
    assert [r['rank'] for r in ranks] == [0, 1]
    assert ranks[0]['iters'] == ranks[1]['iters'] == (
        2 * ranks[0]['len_dataloader'])
    assert ranks[0]['len_dataloader'] == ranks[1]['len_dataloader']
    assert ranks[0]['plans'] == ranks[1]['plans']

    sizes = [[(e, h, w, len(idx)) for e, _, h, w, idx in r['records']]
             for r in ranks]
    planned = [(e, *row) for e in range(2) for row in ranks[0]['plans'][e]]
    assert sizes[0] == sizes[1] == planned
    for epoch in range(2):
        shards = [{
            i
            for e, _, _, _, idx in r['records'] if e == epoch for i in idx
        } for r in ranks]
        assert shards[0].isdisjoint(shards[1])
        assert shards[0] | shards[1] == set(range(NUM_IMAGES))


# The multi-scale detection and segmentation configs (the sampler guide points
# at them), trained on a small generated dataset at small sizes: everything
# else (pipeline, dataset wrapper, sampler, model) is the config's.
MULTISCALE_CONFIGS = {
    'det': 'ssdlite_mobilevit/ssdlite_mobilevit-s_4xb32-ms-200e_coco.py',
    'seg': 'deeplabv3_mobilevit/deeplabv3_mobilevit-s-d16_4xb32-ms-50e_voc12aug-512x512.py',
}


def _on_generated_data(cfg, task: str, data_root: str) -> None:
    """Point the training data of a multi-scale config at 12 generated
    shapes images (written on first use), keeping its pipeline."""
    wrapper = cfg.train_dataloader.dataset
    assert wrapper.type == 'mmvit.MultiScaleDataset'
    shapes = dict(data_root=data_root, num_train=12, num_val=2)
    if task == 'det':
        inner = wrapper.dataset  # COCO
        wrapper.dataset = dict(
            type='mmvit.ShapesDetDataset',
            ann_file='annotations/instances_train.json',
            data_prefix=dict(img='train/'),
            filter_cfg=inner.filter_cfg,
            pipeline=inner.pipeline,
            **shapes)
    else:
        inner = wrapper.dataset  # ConcatDataset of VOC train + SBD aug
        assert inner.type == 'ConcatDataset'
        inner.datasets = [
            dict(
                type='mmvit.ShapesSegDataset',
                data_prefix=dict(img_path='train', seg_map_path='masks/train'),
                ann_file='splits/train.txt',
                pipeline=inner.datasets[0].pipeline,
                **shapes)
        ]


@pytest.mark.parametrize('task', ['det', 'seg'])
def test_detection_and_segmentation_switch_trains(tmp_path, task):
    cfg = parsed_config(
        osp.join(REPO_ROOT, 'configs', MULTISCALE_CONFIGS[task]))
    _on_generated_data(cfg, task, str(tmp_path / 'data'))
    loader = cfg.train_dataloader
    loader.update(batch_size=4, num_workers=1)  # seg: >= 2 images per batch
    if task == 'det':  # non-square sizes: anchors follow (h, w)
        loader.batch_sampler.update(
            base_size=128, min_size=(96, 128), max_size=(160, 192))
    else:
        loader.batch_sampler.update(base_size=128, min_size=96, max_size=160)
    set_norm(cfg.model, dict(type='BN'))  # one process
    cfg.model.backbone.init_cfg = None  # no ImageNet checkpoint here
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.custom_hooks = []
    cfg.default_hooks.checkpoint = None
    cfg.work_dir = str(tmp_path / 'work')
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    recorder = SizeRecorder(same_size=task == 'det')
    runner.register_hook(recorder)
    runner.train()
    batch_sampler = runner.train_dataloader.batch_sampler
    num_images = len(runner.train_dataloader.dataset)
    assert runner.iter == len(batch_sampler) > 1
    plan = batch_sampler.plan(0)
    assert len(recorder.records) == len(plan)
    for (_, _, h, w, ids), row in zip(recorder.records, plan):
        assert len(ids) == row.batch_size
        if task == 'det':  # every image is resized to the sampled (h, w)
            assert (h, w) == (row.height, row.width)
        else:  # crops of at most the sampled size
            assert h <= row.height and w <= row.width
    assert len({i for *_, ids in recorder.records for i in ids}) == num_images
