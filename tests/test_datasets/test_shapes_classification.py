"""The generated classification set and the pretrain -> fine-tune hand-over
of the embedded demo."""
import filecmp
import os.path as osp
from collections import Counter

import cv2
import pytest
import torch
from conftest import SEED, parsed_config, set_norm
from mmengine.registry import DefaultScope

from mmvit.datasets.shapes import (CLS_CLASSES, ensure_shapes_classification,
                                   generate_shapes_classification)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PRETRAIN_CFG = osp.join(REPO_ROOT, 'configs', 'mobilevit',
                        'mobilevit-xxsmall_1xb32_shapes.py')
DET_CFG = osp.join(REPO_ROOT, 'configs',
                   'ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py')
SEG_CFG = osp.join(REPO_ROOT, 'configs',
                   'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_1xb8-2e_shapes-256x256.py')
PEER_PRETRAIN_CFG = osp.join(REPO_ROOT, 'configs', 'peers',
                             'mobilenet-v2_1xb32_shapes.py')
PEER_DET_CFG = osp.join(REPO_ROOT, 'configs', 'peers',
                        'ssdlite_mobilenetv2_shapes.py')


@pytest.fixture(scope='module')
def cls_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('data') / 'shapes_cls')
    generate_shapes_classification(
        root, num_train=48, num_val=12, seed=SEED)
    return root


def _lines(root, split):
    with open(osp.join(root, 'meta', f'{split}.txt')) as f:
        return [line.split() for line in f.read().splitlines()]


def test_layout_labels_and_images(cls_root):
    for split, count in (('train', 48), ('val', 12)):
        lines = _lines(cls_root, split)
        assert len(lines) == count
        for path, label in lines:
            # the folder is the class, as in ImageNet's layout
            assert path.split('/')[0] == CLS_CLASSES[int(label)]
            img = cv2.imread(osp.join(cls_root, split, path))
            assert img is not None and img.shape[2] == 3
            assert 112 <= min(img.shape[:2]) and max(img.shape[:2]) < 256
    # every class occurs (4 classes, 48 uniform draws)
    counts = Counter(int(label) for _, label in _lines(cls_root, 'train'))
    assert set(counts) == set(range(len(CLS_CLASSES)))


def test_deterministic_and_generated_once(tmp_path):
    a, b = str(tmp_path / 'a'), str(tmp_path / 'b')
    generate_shapes_classification(a, num_train=6, num_val=2, seed=SEED)
    generate_shapes_classification(b, num_train=6, num_val=2, seed=SEED)
    assert filecmp.cmp(
        osp.join(a, 'meta', 'train.txt'),
        osp.join(b, 'meta', 'train.txt'),
        shallow=False)
    path = _lines(a, 'train')[3][0]
    assert filecmp.cmp(
        osp.join(a, 'train', path), osp.join(b, 'train', path),
        shallow=False)
    c = str(tmp_path / 'c')
    assert ensure_shapes_classification(c, num_train=3, num_val=1)
    assert not ensure_shapes_classification(c, num_train=3, num_val=1)
    with pytest.raises(ValueError, match='num_train=-1'):
        generate_shapes_classification(str(tmp_path / 'd'), num_train=-1)


def test_dataset_generates_on_first_use(tmp_path):
    from mmvit.datasets import ShapesClsDataset
    root = str(tmp_path / 'shapes_cls')
    args = dict(data_root=root, ann_file='meta/train.txt', data_prefix='train')
    with pytest.raises(FileNotFoundError, match='generate_shapes.py'):
        ShapesClsDataset(generate=False, **args)
    dataset = ShapesClsDataset(num_train=8, num_val=2, **args)
    assert len(dataset) == 8
    assert dataset.metainfo['classes'] == CLS_CLASSES
    info = dataset.get_data_info(0)
    assert info['img_path'].startswith(osp.join(root, 'train'))
    assert CLS_CLASSES[info['gt_label']] in info['img_path']


def _build(config: str, registry_scope: str):
    from mmengine.registry import MODELS, init_default_scope
    cfg = parsed_config(config)
    set_norm(cfg.model, dict(type='BN'))
    init_default_scope(registry_scope)
    with DefaultScope.overwrite_default_scope(registry_scope):
        return cfg, MODELS.build(cfg.model)


@pytest.mark.parametrize(
    'pretrain,config,scope,left_over',
    [
        (PRETRAIN_CFG, DET_CFG, 'mmdet', {'conv_1x1_exp'}),
        (PRETRAIN_CFG, SEG_CFG, 'mmseg', {'conv_1x1_exp'}),
        # the peer: mmpretrain's MobileNetV2 into mmdet's SSDLite-MobileNetV2
        (PEER_PRETRAIN_CFG, PEER_DET_CFG, 'mmdet', set()),
    ])
def test_pretrained_backbone_is_handed_over(pretrain, config, scope,
                                            left_over, tmp_path):
    """The pretraining stage's checkpoint initialises the detector's and
    the segmentor's backbones through their own ``init_cfg`` (``Pretrained``,
    prefix ``backbone.``): every backbone weight is taken, and what the
    checkpoint has beyond them is only the part the task does not use (the
    classifier's expansion layer)."""
    _, classifier = _build(pretrain, 'mmpretrain')
    with torch.no_grad():
        for param in classifier.parameters():
            param.normal_()
    checkpoint = str(tmp_path / 'epoch_2.pth')
    torch.save(dict(state_dict=classifier.state_dict()), checkpoint)

    cfg, model = _build(config, scope)
    assert cfg.model.backbone.init_cfg.checkpoint == cfg.pretrained
    assert osp.normpath(cfg.pretrained).startswith('work_dirs')
    assert cfg.pretrain_config and osp.isfile(
        osp.join(REPO_ROOT, cfg.pretrain_config))
    model.backbone.init_cfg['checkpoint'] = checkpoint
    model.init_weights()
    source = {
        k[len('backbone.'):]: v
        for k, v in classifier.state_dict().items()
        if k.startswith('backbone.')
    }
    target = model.backbone.state_dict()
    assert set(target) <= set(source)
    assert {k.split('.')[0] for k in set(source) - set(target)} == left_over
    for key, value in target.items():
        assert torch.equal(value, source[key]), key
