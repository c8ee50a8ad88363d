"""Clear errors where a new user trips (issue 11, point 2): missing data,
missing backbone checkpoints and model wiring that does not fit, each one
message naming the path / keys and the fix, raised before a runner or model
is built (``mmvit.utils.check_config``, called by tools/train.py and
tools/test.py), or by the module itself."""
import os
import os.path as osp
import re
import shutil

import pytest
import torch
from conftest import load_tool, parsed_config

from mmvit.models import MobileViT
from mmvit.models.dense_heads import SSDLiteHead
from mmvit.models.necks import SSDLiteNeck
from mmvit.apis import load_config
from mmvit.preflight import check_config

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO_ROOT, 'configs')
COCO_S = osp.join(CONFIGS, 'ssdlite_mobilevit/ssdlite_mobilevit-s_4xb32-200e_coco.py')
COCO_XS = osp.join(CONFIGS, 'ssdlite_mobilevit/ssdlite_mobilevit-xs_4xb32-200e_coco.py')
VOC_XS = osp.join(CONFIGS,
                  'deeplabv3_mobilevit/deeplabv3_mobilevit-xs-d16_4xb32-50e_voc12aug-512x512.py')
IN1K_XS = osp.join(CONFIGS, 'mobilevit', 'mobilevit-xsmall_8xb128_in1k.py')
DET_SHAPES = osp.join(CONFIGS, 'ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py')
SEG_SHAPES = osp.join(CONFIGS,
                      'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_1xb8-2e_shapes-256x256.py')
ALL_CONFIGS = sorted(
    osp.relpath(osp.join(root, name), CONFIGS)
    for root, _, names in os.walk(CONFIGS) if '_base_' not in root
    for name in names if name.endswith('.py'))

# the standard layouts the COCO / VOC / ImageNet configs read
FAKE_FILES = [
    'data/coco/annotations/instances_train2017.json',
    'data/coco/annotations/instances_val2017.json',
    'data/VOCdevkit/VOC2012/ImageSets/Segmentation/train.txt',
    'data/VOCdevkit/VOC2012/ImageSets/Segmentation/val.txt',
    'data/VOCdevkit/VOC2012/ImageSets/Segmentation/aug.txt',
    'data/coco_voc/ImageSets/Segmentation/train_coco.txt',
    'checkpoints/mobilevit-small_in1k_mmvit.pth',
    'checkpoints/mobilevit-xsmall_in1k_mmvit.pth',
    'checkpoints/mobilevit-xxsmall_in1k_mmvit.pth',
    *(f'checkpoints/mobilevitv2-{width}_in1k_mmvit.pth'
      for width in ('050', '075', '100', '150', '200')),
    # the layouts of the fine-tuning examples (README, "Train on your own
    # data"): the converted detector / segmentor they start from
    'data/custom_coco/annotations/instances_train.json',
    'data/custom_coco/annotations/instances_val.json',
    'checkpoints/ssdlite_mobilevit-s_coco_mmvit.pth',
    'checkpoints/deeplabv3_mobilevit-s_voc_mmvit.pth',
    # what the demo's pretraining stages write
    'work_dirs/mobilevit-xxsmall_1xb32_shapes/epoch_2.pth',
    'work_dirs/mobilenet-v2_1xb32_shapes/epoch_2.pth',
]
FAKE_DIRS = [
    'data/coco/train2017', 'data/coco/val2017',
    'data/VOCdevkit/VOC2012/JPEGImages',
    'data/VOCdevkit/VOC2012/SegmentationClass',
    'data/VOCdevkit/VOC2012/SegmentationClassAug',
    'data/coco_voc/JPEGImages', 'data/coco_voc/SegmentationClassCOCO',
    'data/imagenet/train',
    'data/imagenet/val',
    'data/ade/ADEChallengeData2016/images/training',
    'data/ade/ADEChallengeData2016/images/validation',
    'data/ade/ADEChallengeData2016/annotations/training',
    'data/ade/ADEChallengeData2016/annotations/validation',
    'data/custom_coco/train', 'data/custom_coco/val',
    'data/custom_seg/img_dir/train', 'data/custom_seg/img_dir/val',
    'data/custom_seg/ann_dir/train', 'data/custom_seg/ann_dir/val',
]

train_tool = load_tool('train.py')
test_tool = load_tool('test.py')


@pytest.fixture
def empty_cwd(tmp_path, monkeypatch):
    """Run from an empty folder: no data/, no checkpoints/."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def fake_data(empty_cwd):
    """Run from a folder with the standard layouts (empty files)."""
    for name in FAKE_DIRS:
        os.makedirs(name)
    for name in FAKE_FILES:
        os.makedirs(osp.dirname(name), exist_ok=True)
        open(name, 'w').close()
    return empty_cwd


@pytest.fixture
def no_runner(monkeypatch):
    """The tools' runner (and with it the model) must not be built."""

    def refuse(cfg):
        raise AssertionError('the runner was built before the check')

    monkeypatch.setattr(train_tool, 'build_runner', refuse)
    monkeypatch.setattr(test_tool, 'build_runner', refuse)


def message_of(path: str, mode: str = 'train', **options) -> str:
    cfg = load_config(path, cfg_options=options or None)
    with pytest.raises((FileNotFoundError, ValueError)) as info:
        check_config(cfg, mode)
    return str(info.value)


# ---------------------------------------------------------------- data
def test_train_tool_without_coco(empty_cwd, no_runner):
    missing = empty_cwd / 'nowhere'
    with pytest.raises(FileNotFoundError) as info:
        train_tool.main([
            COCO_S, '--work-dir',
            str(empty_cwd / 'work'), '--cfg-options',
            f'train_dataloader.dataset.data_root={missing}/'
        ])
    text = str(info.value)
    # the missing paths, by config key
    assert re.search(
        rf'train_dataloader\.dataset \(\w*CocoDataset\): data_root '
        rf'{re.escape(str(missing))}/', text)
    assert 'val_dataloader.dataset' in text and 'data/coco/' in text
    assert 'val_evaluator: ann_file data/coco/annotations/' \
           'instances_val2017.json' in text
    # the layout, where to get it, how to point at it, the demo without it
    assert 'data/coco/annotations/instances_{train,val}2017.json' in text
    assert 'cocodataset.org' in text and 'download_dataset.py' in text
    assert '--cfg-options train_dataloader.dataset.data_root=DIR' in text
    assert 'python tools/train.py configs/ssdlite_mobilevit_xxs_shapes.py' \
        in text
    # and, in the same message, the backbone checkpoint
    assert 'checkpoints/mobilevit-small_in1k_mmvit.pth' in text


def test_test_tool_without_voc(empty_cwd, no_runner):
    ckpt = empty_cwd / 'model.pth'
    ckpt.write_bytes(b'')
    with pytest.raises(FileNotFoundError) as info:
        test_tool.main([VOC_XS, str(ckpt), '--work-dir', str(empty_cwd)])
    text = str(info.value)
    assert 'test_dataloader.dataset (PascalVOCDataset): data_root ' \
           'data/VOCdevkit/VOC2012' in text
    assert 'SegmentationClassAug' in text and 'voc_aug.py' in text
    assert 'configs/deeplabv3_mobilevit_xxs_shapes.py' in text
    assert 'train_dataloader' not in text  # a test run reads test data only
    assert 'init_cfg' not in text  # and loads the whole checkpoint


def test_imagenet_missing_names_root_and_source(empty_cwd):
    text = message_of(IN1K_XS)
    # through the MultiScaleDataset wrapper
    assert 'train_dataloader.dataset.dataset (ImageNet): data_root ' \
           'data/imagenet' in text
    assert 'data/imagenet/{train,val}/' in text
    assert 'image-net.org' in text and 'mmpretrain' in text


def test_missing_files_under_an_existing_root(fake_data):
    os.remove('data/coco/annotations/instances_train2017.json')
    os.rmdir('data/coco/train2017')
    text = message_of(COCO_S)
    assert ('ann_file data/coco/annotations/instances_train2017.json, '
            'data_prefix.img data/coco/train2017/') in text
    assert 'val_dataloader' not in text  # its files are there


def test_converted_coco_voc_set_names_its_converter(fake_data):
    shutil.rmtree('data/coco_voc')
    text = message_of(
        osp.join(CONFIGS,
                 'deeplabv3_mobilevit/deeplabv3_mobilevit-s-d16_4xb32-50e_voc12aug-coco-512x512.py'))
    assert 'train_dataloader.dataset.datasets.2 (PascalVOCDataset): ' \
        'data_root data/coco_voc' in text
    assert 'tools/dataset_converters/coco2voc_seg.py' in text
    assert 'datasets.0' not in text and 'datasets.1' not in text


def test_wrappers_name_the_inner_dataset(fake_data):
    # ConcatDataset of mmseg's voc12aug: only the aug part is missing
    os.remove('data/VOCdevkit/VOC2012/ImageSets/Segmentation/aug.txt')
    text = message_of(VOC_XS)
    assert 'train_dataloader.dataset.datasets.1 (PascalVOCDataset): ' \
           'ann_file data/VOCdevkit/VOC2012/ImageSets/Segmentation/aug.txt' \
           in text
    assert 'datasets.0' not in text
    # RepeatDataset
    cfg = load_config(COCO_S)
    cfg.train_dataloader.dataset = dict(
        type='RepeatDataset',
        times=2,
        dataset=dict(cfg.train_dataloader.dataset, data_root='nowhere/'))
    with pytest.raises(FileNotFoundError,
                       match=r'train_dataloader\.dataset\.dataset '
                       r'\(\w*CocoDataset\): data_root nowhere/'):
        check_config(cfg)


def test_only_the_dataloaders_of_the_run_are_checked(fake_data):
    cfg = load_config(COCO_S)
    cfg.test_dataloader = dict(
        cfg.test_dataloader,
        dataset=dict(cfg.test_dataloader.dataset, data_root='nowhere/'))
    check_config(cfg, 'train')  # train + val: present
    with pytest.raises(FileNotFoundError,
                       match=r'test_dataloader\.dataset .*nowhere/'):
        check_config(cfg, 'test')
    cfg.val_cfg = None  # no val loop, val data not needed
    cfg.val_dataloader.dataset.data_root = 'nowhere/'
    check_config(cfg, 'train')


@pytest.mark.parametrize('path', [DET_SHAPES, SEG_SHAPES])
def test_generated_data_is_not_required(empty_cwd, path):
    # the pretraining stage's checkpoint is: its message names that stage
    text = message_of(path)
    assert text.startswith('model.backbone.init_cfg names the checkpoint '
                           'work_dirs/mobilevit-xxsmall_1xb32_shapes/'
                           'epoch_2.pth, which does not exist yet')
    assert ('python tools/train.py configs/mobilevit/'
            'mobilevit-xxsmall_1xb32_shapes.py') in text
    assert 'python tools/demo.py' in text
    assert 'Dataset files' not in text
    cfg = load_config(path, cfg_options={'model.backbone.init_cfg': None})
    for mode in ('train', 'test'):
        check_config(cfg, mode)  # written on first use
    assert not osp.exists('data')  # and not by the check
    cfg.train_dataloader.dataset.generate = False
    with pytest.raises(FileNotFoundError, match='train_dataloader.dataset'):
        check_config(cfg, 'train')


@pytest.mark.parametrize('name', ALL_CONFIGS)
def test_every_config_passes_with_its_data(fake_data, name):
    cfg = parsed_config(osp.join(CONFIGS, name))
    for mode in ('train', 'test'):
        check_config(cfg, mode)


# ------------------------------------------------------------ checkpoints
def test_missing_backbone_checkpoint(fake_data, no_runner):
    os.remove('checkpoints/mobilevit-xsmall_in1k_mmvit.pth')
    with pytest.raises(FileNotFoundError) as info:
        train_tool.main([COCO_XS, '--work-dir', str(fake_data / 'work')])
    text = str(info.value)
    assert text.startswith('model.backbone.init_cfg names the checkpoint '
                           'checkpoints/mobilevit-xsmall_in1k_mmvit.pth')
    assert ('python tools/model_converters/mobilevit2mmvit.py mobilevit_xs.pt'
            ' checkpoints/mobilevit-xsmall_in1k_mmvit.pth') in text
    assert '--cfg-options model.backbone.init_cfg=None' in text
    assert 'Dataset files' not in text


def test_checkpoint_not_checked_when_remote_absent_or_testing(fake_data):
    os.remove('checkpoints/mobilevit-small_in1k_mmvit.pth')
    cfg = load_config(COCO_S)
    check_config(cfg, 'test')  # a test run loads the whole model
    cfg.model.backbone.init_cfg.checkpoint = 'https://example.com/w.pth'
    check_config(cfg, 'train')  # URLs are mmengine's business
    cfg.model.backbone.init_cfg = None  # from scratch
    check_config(cfg, 'train')


def test_other_owners_get_a_generic_fix(fake_data):
    cfg = load_config(COCO_S)
    cfg.model.neck.init_cfg = [
        dict(type='Xavier', layer='Conv2d'),
        dict(type='Pretrained', checkpoint='neck.pth')
    ]
    with pytest.raises(FileNotFoundError) as info:
        check_config(cfg)
    text = str(info.value)
    assert 'model.neck.init_cfg names the checkpoint neck.pth' in text
    assert '--cfg-options model.neck.init_cfg=None' in text
    assert 'mobilevit2mmvit' not in text


# ------------------------------------------------------------ wiring
def test_arch_out_channels_is_what_the_backbone_outputs():
    for arch in MobileViT.arch_settings:
        for out_indices in ((3, 4), (5, ), (-1, 0, 2)):
            model = MobileViT(arch=arch, out_indices=out_indices)
            assert MobileViT.arch_out_channels(arch, out_indices,
                                               4) == model.out_channels
            outs = model(torch.rand(1, 3, 64, 64))
            assert tuple(o.shape[1] for o in outs) == model.out_channels


def test_neck_in_channels_against_backbone(fake_data):
    text = message_of(COCO_XS, **{'model.neck.in_channels': [128, 160]})
    assert text == (
        'model.neck.in_channels is (128, 160) but model.backbone '
        "(mmvit.MobileViT, arch='x_small', out_indices=(3, 4)) outputs "
        '(80, 96) channels; set model.neck.in_channels=(80, 96)')


def test_head_in_channels_against_neck(fake_data):
    text = message_of(
        COCO_XS, **{'model.bbox_head.in_channels': [80, 96, 256, 128, 128]})
    assert 'model.bbox_head.in_channels is [80, 96, 256, 128, 128]' in text
    assert 'model.neck (mmvit.SSDLiteNeck) outputs (80, 96, 256, 128, ' \
           '128, 64) channels' in text
    text = message_of(COCO_XS, **{'model.neck.global_channels': 32})
    assert 'set model.bbox_head.in_channels=(80, 96, 256, 128, 128, 32)' \
        in text


def test_seg_head_in_channels_and_index_against_backbone(fake_data):
    text = message_of(VOC_XS, **{'model.decode_head.in_channels': 160})
    assert 'model.decode_head.in_channels is 160' in text
    assert "arch='x_small'" in text and '(80, 96) channels, 96 at ' \
        'in_index 1; set model.decode_head.in_channels=96' in text
    text = message_of(VOC_XS, **{'model.decode_head.in_index': 2})
    assert 'model.decode_head.in_index is 2' in text and '2 maps' in text


def test_cls_head_in_channels_against_pooled_backbone(fake_data):
    text = message_of(IN1K_XS, **{'model.head.in_channels': 640})
    assert text == ('model.head.in_channels is 640 but model.neck '
                    '(GlobalAveragePooling) outputs 384 channels; set '
                    'model.head.in_channels=384')


def test_anchor_levels_against_head_levels():
    with pytest.raises(ValueError) as info:
        SSDLiteHead(
            anchor_generator=dict(
                type='mmvit.SSDLiteAnchorGenerator',
                output_strides=(16, 32, 64, 128, -1),
                ratios=([2, 3], [2, 3], [2, 3], [2, 3], [2])))
    text = str(info.value)
    assert 'bbox_head.anchor_generator has 5 levels' in text
    assert 'bbox_head.in_channels has 6 (128, 160, 256, 128, 128, 64)' in text


def test_forward_names_both_sides():
    neck = SSDLiteNeck(in_channels=(128, 160))
    with pytest.raises(ValueError) as info:
        neck((torch.rand(2, 64, 8, 8), torch.rand(2, 80, 4, 4)))
    assert '(128, 160) channels (neck.in_channels)' in str(info.value)
    assert '(64, 80) channels from the backbone' in str(info.value)
    head = SSDLiteHead(num_classes=3)
    feats = [torch.rand(2, c, 2, 2) for c in (128, 160, 256, 128, 128, 32)]
    with pytest.raises(ValueError) as info:
        head(feats)
    assert '(128, 160, 256, 128, 128, 64) channels (bbox_head.in_channels)' \
        in str(info.value)
    assert '(128, 160, 256, 128, 128, 32) channels from the neck' \
        in str(info.value)


# ------------------------------------------------------------ classes
def test_det_num_classes_against_dataset(fake_data):
    text = message_of(DET_SHAPES, **{'model.bbox_head.num_classes': 80})
    assert text == ('model.bbox_head.num_classes is 80 but '
                    'train_dataloader.dataset (ShapesDetDataset) has 3 '
                    "classes ('rectangle', 'ellipse', 'triangle'); set "
                    'model.bbox_head.num_classes=3 or the dataset\'s '
                    'metainfo=dict(classes=...)')
    cfg = load_config(COCO_S)
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].dataset.metainfo = dict(classes=('cat', 'dog'))
    with pytest.raises(ValueError,
                       match=r'num_classes is 80 .* has 2 classes '
                       r"\('cat', 'dog'\)"):
        check_config(cfg)
    cfg.model.bbox_head.num_classes = 2
    check_config(cfg)


def test_seg_and_cls_num_classes_against_dataset(fake_data):
    text = message_of(SEG_SHAPES, **{'model.decode_head.num_classes': 21})
    assert 'model.decode_head.num_classes is 21 but train_dataloader.' \
           'dataset (ShapesSegDataset) has 4 classes' in text
    text = message_of(VOC_XS, 'test', **{'model.decode_head.num_classes': 19})
    assert 'test_dataloader.dataset (PascalVOCDataset) has 21 classes' in text
    text = message_of(IN1K_XS, **{'model.head.num_classes': 10})
    assert 'model.head.num_classes is 10' in text
    assert '(ImageNet) has 1000 classes; set model.head.num_classes=1000' \
        in text


def test_missing_v2_checkpoint_names_the_v2_release(empty_cwd):
    text = message_of(
        osp.join(CONFIGS, 'ssdlite_mobilevitv2',
                 'ssdlite_mobilevitv2-050_4xb32-200e_coco.py'),
        **{'train_dataloader.dataset.data_root': str(empty_cwd)})
    assert ('python tools/model_converters/mobilevit2mmvit.py '
            'mobilevitv2-0.5.pt checkpoints/mobilevitv2-050_in1k_mmvit.pth'
            ) in text
