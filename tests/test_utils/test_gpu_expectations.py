"""GPU readiness (issue 14): a run meant for GPUs that finds none says so
once, loudly, and still runs on CPU (``prepare_distributed``); on a CUDA
device the start-up checks find an mmcv without CUDA kernels and warn about
``deterministic=True`` (``check_training_device``). CUDA is simulated by
monkeypatching, so all of it runs on CPU."""
import os.path as osp
import warnings

import pytest
import torch
from conftest import load_tool
from mmengine.config import Config

import mmvit.utils.device as device_module
from mmvit.apis import (GPUExpectationWarning, gpu_expectations, load_config,
                        prepare_distributed)
from mmvit.utils import (DeterministicCUDAWarning, check_mmcv_cuda_ops,
                         check_training_device, training_device)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO_ROOT, 'configs')
DET_SHAPES = osp.join(CONFIGS, 'ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py')
SEG_SHAPES = osp.join(CONFIGS,
                      'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_1xb8-2e_shapes-256x256.py')
COCO_S = osp.join(CONFIGS, 'ssdlite_mobilevit/ssdlite_mobilevit-s_4xb32-200e_coco.py')
VOC_S = osp.join(CONFIGS,
                 'deeplabv3_mobilevit/deeplabv3_mobilevit-s-d16_4xb32-50e_voc12aug-512x512.py')

train_tool = load_tool('train.py')


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    for name in ('CUDA_VISIBLE_DEVICES', 'RANK'):
        monkeypatch.delenv(name, raising=False)


def _cfg(norm='BN', backend='nccl', launcher='none', **extra) -> Config:
    return Config(
        dict(
            model=dict(
                type='Detector',
                backbone=dict(norm_cfg=dict(type=norm)),
                head=[dict(norm_cfg=dict(type=norm, requires_grad=True))]),
            env_cfg=dict(dist_cfg=dict(backend=backend)),
            launcher=launcher,
            **extra))


def _gpu_warnings(cfg: Config):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        prepare_distributed(cfg)
    return [
        str(w.message) for w in caught
        if issubclass(w.category, GPUExpectationWarning)
    ]


def _norm_types(cfg: Config):
    return (cfg.model.backbone.norm_cfg.type,
            cfg.model.head[0].norm_cfg.type)


# ------------------------------------------------ B: expected GPUs, none
def test_syncbn_in_one_process_warns_and_names_it(no_cuda):
    cfg = _cfg(norm='SyncBN')
    messages = _gpu_warnings(cfg)
    assert len(messages) == 1
    assert 'the model uses SyncBN' in messages[0]
    assert 'torch.cuda.is_available() is False' in messages[0]
    assert 'install a CUDA build of torch' in messages[0]
    assert 'nccl' not in messages[0]  # no process group in one process
    assert _norm_types(cfg) == ('SyncBN', 'SyncBN')  # mmengine reverts it


def test_distributed_syncbn_and_nccl_become_bn_and_gloo(no_cuda):
    cfg = _cfg(norm='SyncBN', launcher='pytorch', sync_bn='torch')
    (message, ) = _gpu_warnings(cfg)
    assert "env_cfg.dist_cfg.backend is 'nccl'" in message
    assert "process group 'nccl' -> gloo" in message
    assert 'SyncBN -> BN' in message and "sync_bn='torch' dropped" in message
    # torch's SyncBN raises on CPU tensors in a multi-process run
    assert _norm_types(cfg) == ('BN', 'BN')
    assert cfg.sync_bn is None
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.device_ids is None


def test_cuda_visible_devices_with_torchrun_warns(no_cuda, monkeypatch):
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '0,1')
    cfg = _cfg(backend='gloo', launcher='pytorch')
    (message, ) = _gpu_warnings(cfg)
    assert "CUDA_VISIBLE_DEVICES='0,1' with --launcher pytorch" in message
    assert '-> gloo' not in message  # gloo was asked for


@pytest.mark.parametrize('visible', [None, '', '-1'])
def test_cpu_on_purpose_is_quiet(no_cuda, monkeypatch, visible):
    if visible is not None:
        monkeypatch.setenv('CUDA_VISIBLE_DEVICES', visible)
    cfg = _cfg(backend='gloo', launcher='pytorch')
    assert gpu_expectations(cfg) == []
    assert _gpu_warnings(cfg) == []
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.device_ids is None


def test_one_process_ignores_the_unused_nccl_setting(no_cuda):
    # mmdet's / mmseg's default_runtime say nccl; one process never uses it
    cfg = _cfg(backend='nccl', launcher='none')
    assert _gpu_warnings(cfg) == []
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert 'model_wrapper_cfg' not in cfg


def test_only_rank_zero_warns(no_cuda, monkeypatch):
    monkeypatch.setenv('RANK', '1')
    cfg = _cfg(norm='SyncBN', launcher='pytorch')
    assert _gpu_warnings(cfg) == []
    assert _norm_types(cfg) == ('BN', 'BN')  # every rank is changed


def test_with_cuda_nothing_changes(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '0,1')
    cfg = _cfg(norm='SyncBN', launcher='pytorch')
    assert _gpu_warnings(cfg) == []
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'  # gloo only without GPUs
    assert _norm_types(cfg) == ('SyncBN', 'SyncBN')
    assert 'model_wrapper_cfg' not in cfg


@pytest.mark.parametrize('path', [DET_SHAPES, SEG_SHAPES])
def test_demo_configs_keep_nccl_for_gpus_and_use_gloo_without(
        monkeypatch, path):
    """No config pins gloo (the DeepLabv3 shapes config once did): with GPUs
    a torchrun job gets the toolbox's NCCL, without them gloo."""
    monkeypatch.delenv('CUDA_VISIBLE_DEVICES', raising=False)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = load_config(path, launcher='pytorch')
    prepare_distributed(cfg)
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = load_config(path, launcher='pytorch')
    messages = _gpu_warnings(cfg)
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert len(messages) == 1 and "'nccl' -> gloo" in messages[0]
    # one CPU process, the demo's own route: quiet
    assert _gpu_warnings(load_config(path)) == []


@pytest.mark.parametrize('path', [COCO_S, VOC_S])
def test_paper_configs_on_cpu_warn(no_cuda, path):
    (message, ) = _gpu_warnings(load_config(path))
    assert 'the model uses SyncBN' in message


def test_no_config_pins_gloo():
    import glob
    paths = glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)
    assert paths
    pinned = [p for p in paths if 'gloo' in open(p).read()]
    assert not pinned, f'gloo is chosen at run time, not in configs: {pinned}'


# ------------------------------------------------ C: mmcv without CUDA ops
def _probe(calls, error=None):

    def run_nms(device):
        calls.append(device)
        if error is not None:
            raise error

    return run_nms


def test_mmcv_without_cuda_ops_stops_with_the_fix(monkeypatch):
    calls = []
    monkeypatch.setattr(
        device_module, '_run_nms',
        _probe(calls,
               RuntimeError('nms_impl: implementation for device cuda:0 '
                            'not found.')))
    with pytest.raises(RuntimeError) as info:
        check_training_device(load_config(DET_SHAPES), 'cuda:0')
    message = str(info.value)
    assert calls == [torch.device('cuda:0')]
    assert 'implementation for device cuda:0 not found' in message
    assert 'mim install "mmcv==' in message
    assert 'MMCV_WITH_OPS=1 FORCE_CUDA=1' in message


def test_working_cuda_nms_passes(monkeypatch):
    calls = []
    monkeypatch.setattr(device_module, '_run_nms', _probe(calls))
    check_training_device(load_config(DET_SHAPES), 'cuda:1')
    assert calls == [torch.device('cuda:1')]


@pytest.mark.parametrize('path,device', [(DET_SHAPES, 'cpu'),
                                         (SEG_SHAPES, 'cuda:0')])
def test_probe_skipped_on_cpu_and_without_nms(monkeypatch, path, device):
    calls = []
    monkeypatch.setattr(device_module, '_run_nms',
                        _probe(calls, RuntimeError('must not run')))
    check_training_device(load_config(path), device)
    assert calls == []


def test_probe_runs_with_this_mmcv_on_cpu():
    device_module._run_nms(torch.device('cpu'))  # the probe itself is sound
    check_mmcv_cuda_ops('cpu')


def test_training_device_is_the_local_rank(monkeypatch):
    import mmengine.device
    monkeypatch.setattr(mmengine.device, 'get_device', lambda: 'cuda')
    monkeypatch.setenv('LOCAL_RANK', '1')
    assert training_device() == torch.device('cuda', 1)
    monkeypatch.setattr(mmengine.device, 'get_device', lambda: 'cpu')
    assert training_device() == torch.device('cpu')


def test_train_tool_checks_before_building_the_runner(monkeypatch):
    import mmengine.device
    monkeypatch.setattr(mmengine.device, 'get_device', lambda: 'cuda')
    monkeypatch.setenv('LOCAL_RANK', '0')
    monkeypatch.setattr(device_module, '_run_nms',
                        _probe([], RuntimeError('no CUDA kernel')))

    def refuse(cfg):
        raise AssertionError('the runner was built before the check')

    monkeypatch.setattr(train_tool, 'build_runner', refuse)
    with pytest.raises(RuntimeError, match='MMCV_WITH_OPS=1 FORCE_CUDA=1'):
        train_tool.main(
            [DET_SHAPES, '--cfg-options', 'model.backbone.init_cfg=None'])


# ------------------------------------------------ D: deterministic on CUDA
@pytest.mark.parametrize('deterministic,device,warns',
                         [(True, 'cuda:0', True), (False, 'cuda:0', False),
                          (True, 'cpu', False)])
def test_deterministic_on_cuda_warns(monkeypatch, deterministic, device,
                                     warns):
    monkeypatch.setattr(device_module, '_run_nms', _probe([]))
    cfg = load_config(SEG_SHAPES)
    cfg.randomness = dict(seed=0, deterministic=deterministic)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        check_training_device(cfg, device)
    messages = [
        str(w.message) for w in caught
        if issubclass(w.category, DeterministicCUDAWarning)
    ]
    assert len(messages) == int(warns)
    if warns:
        assert 'adaptive_avg_pool2d_backward_cuda' in messages[0]
        assert 'upsample_bilinear2d_backward_out_cuda' in messages[0]
        assert 'warn_only=True' in messages[0]
