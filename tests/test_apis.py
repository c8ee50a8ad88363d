"""mmvit.apis (issue 15): one way to load a config and build its model for
every tool; mmvit.compat.apply installs every runtime fix; mmvit.registry
names only locations that exist."""
import importlib
import importlib.util
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope, Registry

from mmvit import apis, compat
from mmvit import registry as mmvit_registry

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(REPO_ROOT, 'configs')
# one config per host toolbox, keyed by its default_scope
SCOPED_CONFIGS = {
    'mmdet':
    osp.join(CONFIGS, 'ssdlite_mobilevit/ssdlite_mobilevit-xxs_4xb32-200e_coco.py'),
    'mmseg':
    osp.join(CONFIGS,
             'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_4xb32-50e_voc12aug-512x512.py'),
    'mmpretrain':
    osp.join(CONFIGS, 'mobilevit', 'mobilevit-xxsmall_8xb128_in1k.py'),
}
MODEL_PARTS = {
    'mmdet': 'bbox_head',
    'mmseg': 'decode_head',
    'mmpretrain': 'head',
}


def _scope_name():
    current = DefaultScope.get_current_instance()
    return None if current is None else current.scope_name


@pytest.fixture(scope='module')
def configs():
    return {
        scope: apis.load_config(path)
        for scope, path in SCOPED_CONFIGS.items()
    }


@pytest.mark.parametrize('scope', sorted(SCOPED_CONFIGS))
def test_build_model_from_path_and_config(scope, configs):
    cfg = configs[scope]
    assert cfg.default_scope == scope
    before = _scope_name()
    model_cfg = cfg.model.to_dict()
    for source in (SCOPED_CONFIGS[scope], cfg):
        model = apis.build_model(source)
        assert hasattr(model, MODEL_PARTS[scope])
        assert type(model.backbone).__module__.startswith('mmvit.')
        assert not model.training
        assert next(model.parameters()).device == torch.device('cpu')
        assert not any(
            isinstance(m, torch.nn.SyncBatchNorm) for m in model.modules())
        assert _scope_name() == before  # no default scope left behind
    assert cfg.model.to_dict() == model_cfg  # the caller's config unchanged


def test_build_model_options(configs):
    cfg = configs['mmpretrain']
    model = apis.build_model(cfg, cfg_options={'model.head.num_classes': 7})
    assert model.head.fc.out_features == 7
    assert cfg.model.head.num_classes == 1000  # merged into a copy
    with pytest.raises(
            FileNotFoundError, match='config file not found: '
            'no/such.py'):
        apis.build_model('no/such.py')


def test_checkpoint_loads_strictly(tmp_path, configs):
    cfg = configs['mmpretrain']
    source = apis.build_model(cfg)
    with torch.no_grad():
        for param in source.parameters():
            param.normal_()
    path = str(tmp_path / 'cls.pth')
    torch.save(dict(state_dict=source.state_dict()), path)
    model = apis.build_model(cfg, checkpoint=path)
    for name, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[name], value), name

    state = source.state_dict()
    state.pop('head.fc.bias')
    bad = str(tmp_path / 'missing_key.pth')
    torch.save(dict(state_dict=state), bad)
    with pytest.raises(ValueError, match=f'checkpoint {bad} does not match'):
        apis.build_model(cfg, checkpoint=bad)
    with pytest.raises(
            FileNotFoundError,
            match=f'checkpoint not found: {tmp_path}/none.pth'):
        apis.build_model(cfg, checkpoint=str(tmp_path / 'none.pth'))


def test_compat_apply_is_idempotent_and_installs_the_loader():
    from mmengine.runner.checkpoint import CheckpointLoader
    finders = list(sys.meta_path)
    compat.apply()
    compat.apply()
    assert sys.meta_path == finders  # nothing added twice
    assert CheckpointLoader._schemes[''] is compat.load_local_checkpoint


def test_compat_fixes_apply_lazily_in_a_fresh_interpreter():
    """``import mmvit`` imports neither torch nor mmengine nor mmdet; the
    checkpoint loader and the SSDHead patch arrive with their modules, for
    a plain mmdet import (no mmvit model imported)."""
    code = '\n'.join([
        'import sys, mmvit',
        "heavy = [m for m in ('torch', 'mmengine', 'mmdet') "
        'if m in sys.modules]',
        'assert not heavy, heavy',
        'from mmengine.runner.checkpoint import CheckpointLoader',
        'import mmengine.runner.checkpoint as ckpt',
        "assert CheckpointLoader._schemes[''] is "
        'mmvit.compat.load_local_checkpoint',
        "assert type(ckpt.__loader__).__name__ == 'SourceFileLoader'",
        'from mmdet.models.dense_heads import SSDHead',
        "assert 'mmvit.models' not in sys.modules",
        'assert SSDHead.loss_cls is None',
        'mmvit.compat.apply()',
        "print('ok')",
    ])
    result = subprocess.run([sys.executable, '-c', code],
                            capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == 'ok'


def test_compat_without_mmdet():
    """With no mmdet to find, the SSDHead fix waits and nothing fails."""
    finder = compat._post_import_finder()
    calls = []
    finder.add('mmvit_no_such_package.models', lambda: calls.append(1))
    assert importlib.util.find_spec('mmvit_no_such_package') is None
    with pytest.raises(ImportError):
        importlib.import_module('mmvit_no_such_package.models')
    assert calls == []
    finder.fixes.pop('mmvit_no_such_package.models')


def test_registry_locations_exist():
    nodes = {
        name: node
        for name, node in vars(mmvit_registry).items()
        if isinstance(node, Registry) and node.scope == 'mmvit'
    }
    assert set(nodes) == {
        'MODELS', 'TASK_UTILS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS',
        'HOOKS'
    }
    for name, node in nodes.items():
        assert node._locations, name
        for location in node._locations:
            importlib.import_module(location)
    assert mmvit_registry.HOOKS.get('CompileBackboneHook') is not None
    assert mmvit_registry.HOOKS.get('MidEpochResumeHook') is not None
