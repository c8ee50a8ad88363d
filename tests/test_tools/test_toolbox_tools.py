"""mmdet's and mmseg's own analysis tools, as installed (``<toolbox>/.mim/
tools``), on mmvit's shapes configs, each run as a user runs it: ``python
<tool> CONFIG ...`` in a directory whose ``data/shapes`` holds a small
generated set (the configs' ``data_root``).

mmdet 3.3: ``analysis_tools/browse_dataset.py``, ``get_flops.py``,
``confusion_matrix.py`` and ``analyze_results.py`` (the last two on the
``--out`` predictions of mmvit's ``tools/test.py``); mmseg 1.2.2:
``analysis_tools/browse_dataset.py`` and ``get_flops.py``. Three of them
need a fix of :mod:`mmvit.compat` (analyze_results, both of mmseg's).
"""
import importlib.util
import os
import os.path as osp
import re
import sys

import cv2
import pytest
import torch
from conftest import REPO_ROOT, SEED, parsed_config, run_ok

pytest.importorskip('mmdet')
pytest.importorskip('mmseg')

DET_CONFIG = osp.join(REPO_ROOT, 'configs',
                      'ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py')
SEG_CONFIG = osp.join(REPO_ROOT, 'configs',
                      'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_1xb8-2e_shapes-256x256.py')
NUM_TRAIN, NUM_VAL = 8, 4
# the generated data as it is (never generate 2400 images), in this process,
# without the demo's pretraining checkpoint
OPTIONS = ['model.backbone.init_cfg=None'] + [
    f'{split}_dataloader.{key}'
    for split in ('train', 'val', 'test')
    for key in ('dataset.generate=False', 'num_workers=0',
                'persistent_workers=False')
]


def toolbox_tool(package: str, path: str) -> str:
    """``path`` under the installed ``package``'s ``.mim/tools``."""
    location = importlib.util.find_spec(package).submodule_search_locations[0]
    tool = osp.join(location, '.mim', 'tools', path)
    assert osp.isfile(tool), tool
    return tool


def _run(args: list, cwd: str) -> str:
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, MPLBACKEND='Agg')
    return run_ok([sys.executable] + [str(a) for a in args], str(cwd), env)


def _images(folder) -> list:
    """The decoded images of ``folder`` (each must decode)."""
    names = sorted(os.listdir(folder))
    images = [cv2.imread(osp.join(folder, n)) for n in names]
    assert all(img is not None for img in images), names
    return images


def _num_params(config: str) -> int:
    from mmvit.apis import build_model
    model = build_model(config, cfg_options={'model.backbone.init_cfg': None})
    return sum(p.numel() for p in model.parameters())


def _check_flops_output(log: str, config: str, shape: str) -> None:
    """The tool built mmvit's model (its parameter count, in the tool's
    format) and counted FLOPs at ``shape``; the attention products are not
    among them (mmengine's counter has no handle for them)."""
    from mmengine.analysis.print_helper import _format_size
    assert f'Input shape: {shape}' in log
    assert f'Params: {_format_size(_num_params(config))}' in log
    flops = re.search(r'Flops: ([0-9.]+)G', log)
    assert flops and float(flops.group(1)) > 0, log[-2000:]
    assert 'Unsupported operator aten::scaled_dot_product_attention' in log


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    """The tools' working directory: ``data/shapes`` with 8 train and 4 val
    images."""
    from mmvit.datasets.shapes import generate_shapes_dataset
    root = tmp_path_factory.mktemp('toolbox')
    generate_shapes_dataset(
        str(root / 'data' / 'shapes'),
        num_train=NUM_TRAIN,
        num_val=NUM_VAL,
        seed=SEED)
    return root


@pytest.fixture(scope='module')
def det_predictions(workspace):
    """``tools/test.py DET_CONFIG CKPT --out results.pkl`` on a checkpoint of
    the randomly initialised detector."""
    from mmvit.apis import build_model
    model = build_model(
        DET_CONFIG,
        cfg_options={'model.backbone.init_cfg': None},
        init_weights=True)
    checkpoint = workspace / 'random_init.pth'
    torch.save(dict(meta=dict(), state_dict=model.state_dict()), checkpoint)
    out = workspace / 'results.pkl'
    log = _run([
        osp.join(REPO_ROOT, 'tools', 'test.py'), DET_CONFIG, checkpoint,
        '--work-dir', workspace / 'test', '--out', out, '--cfg-options',
        *OPTIONS
    ], workspace)
    assert 'coco/bbox_mAP' in log and osp.isfile(out)
    return out


def test_mmdet_loading_pipeline_keeps_mmvit_loader():
    """mmdet's ``get_loading_pipeline`` (analyze_results.py) finds mmvit's
    checked image loader, a ``LoadImageFromFile`` (mmvit.compat)."""
    from mmdet.datasets import get_loading_pipeline
    pipeline = parsed_config(DET_CONFIG).train_dataloader.dataset.pipeline
    loading = get_loading_pipeline(pipeline)
    assert [step['type'] for step in loading
            ] == ['mmvit.LoadImageFromFileChecked', 'LoadAnnotations']
    with pytest.raises(AssertionError, match='loading image'):
        get_loading_pipeline(pipeline[1:])


@pytest.mark.slow
def test_mmdet_browse_dataset(workspace, tmp_path):
    out = tmp_path / 'vis'
    _run([
        toolbox_tool('mmdet', 'analysis_tools/browse_dataset.py'),
        DET_CONFIG, '--output-dir', out, '--not-show', '--cfg-options',
        *OPTIONS
    ], workspace)
    images = _images(out)
    # the training images with objects, after the pipeline's 256x256 resize
    assert 1 <= len(images) <= NUM_TRAIN
    assert all(img.shape == (256, 256, 3) for img in images)


@pytest.mark.slow
def test_mmdet_get_flops(workspace):
    log = _run([
        toolbox_tool('mmdet', 'analysis_tools/get_flops.py'), DET_CONFIG,
        '--num-images', '1', '--cfg-options', *OPTIONS
    ], workspace)
    _check_flops_output(log, DET_CONFIG, '(256, 256)')


@pytest.mark.slow
def test_mmdet_confusion_matrix(workspace, det_predictions, tmp_path):
    out = tmp_path / 'confusion'
    _run([
        toolbox_tool('mmdet', 'analysis_tools/confusion_matrix.py'),
        DET_CONFIG, det_predictions, out, '--cfg-options', *OPTIONS
    ], workspace)
    assert [n for n in os.listdir(out)] == ['confusion_matrix.png']
    assert len(_images(out)) == 1


@pytest.mark.slow
def test_mmdet_analyze_results(workspace, det_predictions, tmp_path):
    out = tmp_path / 'analysis'
    _run([
        toolbox_tool('mmdet', 'analysis_tools/analyze_results.py'),
        DET_CONFIG, det_predictions, out, '--topk', '2', '--cfg-options',
        *OPTIONS
    ], workspace)
    # the 2 best and the 2 worst of the 4 val images, by their mAP
    for kind in ('good', 'bad'):
        assert len(_images(out / kind)) == 2, kind


@pytest.mark.slow
def test_mmseg_browse_dataset(workspace, tmp_path):
    out = tmp_path / 'vis'
    _run([
        toolbox_tool('mmseg', 'analysis_tools/browse_dataset.py'),
        SEG_CONFIG, '--output-dir', out, '--not-show', '--cfg-options',
        *OPTIONS
    ], workspace)
    assert len(_images(out)) == NUM_TRAIN  # every training image, drawn


@pytest.mark.slow
def test_mmseg_get_flops(workspace):
    log = _run([
        toolbox_tool('mmseg', 'analysis_tools/get_flops.py'), SEG_CONFIG,
        '--shape', '256', '256', '--cfg-options', *OPTIONS
    ], workspace)
    _check_flops_output(log, SEG_CONFIG, '(256, 256)')
