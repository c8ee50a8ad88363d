"""DeepLabv3-MobileViT end to end on generated data: the real mmengine Runner
trains, the loss falls, mmseg's IoUMetric evaluates, and tools/test.py
reloads the checkpoint."""
import glob
import os.path as osp

import numpy as np
import pytest
from conftest import SEED, load_tool, np_rng, parsed_config
from mmengine.config import Config

pytest.importorskip('mmseg')

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO_ROOT, 'configs',
                  'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_1xb8-2e_shapes-256x256.py')


def _small_run_config(data_root: str, work_dir: str) -> Config:
    cfg = parsed_config(CONFIG)
    cfg.work_dir = work_dir
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    cfg.train_dataloader.dataset.generate = False
    cfg.model.backbone.init_cfg = None  # no pretraining stage here
    cfg.train_dataloader.batch_size = 4
    # fixed 128x128 inputs without random augmentation, so that the training
    # loss on 16 images falls within a few iterations
    cfg.train_dataloader.dataset.pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='Resize', scale=(128, 128), keep_ratio=False),
        dict(type='PackSegInputs'),
    ]
    cfg.model.data_preprocessor.size = (128, 128)
    epochs = 4
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs
    cfg.param_scheduler[0].end = 5  # warm-up iterations
    cfg.param_scheduler[1].update(T_max=epochs, end=epochs)
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = epochs
    cfg.randomness = dict(seed=SEED)
    return cfg


@pytest.mark.slow
def test_train_evaluate_and_test_on_generated_shapes(tmp_path):
    from mmengine.runner import Runner

    from mmvit.datasets.shapes import generate_shapes_dataset
    data_root = str(tmp_path / 'shapes')
    generate_shapes_dataset(data_root, num_train=16, num_val=4, seed=SEED)
    cfg = _small_run_config(data_root, str(tmp_path / 'work'))

    runner = Runner.from_cfg(cfg)
    assert len(runner.train_dataloader) == 4  # 16 images / batch 4
    runner.train()

    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == 16 and np.isfinite(losses).all()
    assert np.mean(losses[-4:]) < 0.8 * np.mean(losses[:4]), losses

    # the validation that ran after the last epoch used mmseg's IoUMetric
    miou = runner.message_hub.get_scalar('val/mIoU').current()
    acc = runner.message_hub.get_scalar('val/aAcc').current()
    assert 0. < miou <= 100. and 0. < acc <= 100.

    # tools/test.py evaluates the saved checkpoint with the same metric
    ckpts = glob.glob(osp.join(cfg.work_dir, 'epoch_*.pth'))
    assert ckpts
    dumped = str(tmp_path / 'run_config.py')
    cfg.dump(dumped)
    metrics = load_tool('test.py').main([
        dumped, ckpts[0], '--work-dir',
        str(tmp_path / 'test'), '--out',
        str(tmp_path / 'preds.pkl')
    ])
    assert set(metrics) >= {'aAcc', 'mIoU', 'mAcc'}
    # the checkpoint holds the EMA weights that the validation used
    assert metrics['mIoU'] == pytest.approx(miou, abs=0.01)
    assert metrics['aAcc'] == pytest.approx(acc, abs=0.01)
    assert osp.isfile(tmp_path / 'preds.pkl')


def _fake_voc(root: str, rng: np.random.Generator) -> None:
    """A tiny tree in mmseg's voc12aug layout: 1 train + 1 aug + 1 val."""
    import os

    import cv2
    dirs = ('JPEGImages', 'SegmentationClass', 'SegmentationClassAug',
            'ImageSets/Segmentation')
    for d in dirs:
        os.makedirs(osp.join(root, d), exist_ok=True)
    for split, stem, seg_dir in (('train', 'a', 'SegmentationClass'),
                                 ('aug', 'b', 'SegmentationClassAug'),
                                 ('val', 'c', 'SegmentationClass')):
        image = rng.integers(0, 256, (150, 200, 3), dtype=np.uint8)
        mask = np.zeros((150, 200), np.uint8)
        mask[40:110, 50:150] = rng.integers(1, 21)
        mask[39, :] = 255
        cv2.imwrite(osp.join(root, 'JPEGImages', stem + '.jpg'), image)
        cv2.imwrite(osp.join(root, seg_dir, stem + '.png'), mask)
        with open(
                osp.join(root, 'ImageSets/Segmentation', split + '.txt'),
                'w') as f:
            f.write(stem + '\n')


@pytest.mark.slow
def test_voc_recipe_runs_on_a_tiny_voc_tree(tmp_path):
    """The paper's VOC config as written (voc12aug concat, 512 crops, AdamW +
    warm-up + cosine, EMA, head lr x10; SyncBN reverted to BN by the
    non-distributed Runner): one iteration, then IoUMetric on val."""
    from mmengine.runner import Runner
    root = str(tmp_path / 'VOC2012')
    _fake_voc(root, np_rng())
    cfg = parsed_config(
        osp.join(REPO_ROOT, 'configs',
                 'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_4xb32-50e_voc12aug-512x512.py'))
    cfg.work_dir = str(tmp_path / 'work')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    for dataset in cfg.train_dataloader.dataset.datasets:
        dataset.data_root = root
    cfg.val_dataloader.dataset.data_root = root
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg.max_epochs = 1
    cfg.train_cfg.val_interval = 1
    cfg.default_hooks.checkpoint.interval = 1
    runner = Runner.from_cfg(cfg)
    assert len(runner.train_dataloader.dataset) == 2  # train + aug
    runner.train()
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert np.isfinite(loss)
    assert 0. <= runner.message_hub.get_scalar('val/mIoU').current() <= 100.


def test_shapes_seg_dataset_generates_missing_data(tmp_path):
    from mmvit.datasets.shapes import SHAPE_CLASSES
    from mmvit.datasets.shapes import ShapesSegDataset
    root = str(tmp_path / 'shapes')
    args = dict(
        data_root=root,
        ann_file='splits/train.txt',
        data_prefix=dict(img_path='train', seg_map_path='masks/train'))
    with pytest.raises(FileNotFoundError, match='generate_shapes.py'):
        ShapesSegDataset(generate=False, **args)
    dataset = ShapesSegDataset(num_train=3, num_val=1, **args)
    assert len(dataset) == 3
    assert dataset.metainfo['classes'] == ('background', *SHAPE_CLASSES)
    info = dataset.get_data_info(0)
    assert info['img_path'].endswith(osp.join('train', '000000.jpg'))
    assert info['seg_map_path'].endswith(
        osp.join('masks', 'train', '000000.png'))
    assert info['reduce_zero_label'] is False and info['label_map'] is None
