"""The model index mim reads: every metafile config exists, every config of
an algorithm folder is in its metafile, the numbers are the models'."""
import glob
import os.path as osp

import pytest
import yaml
from conftest import REPO_ROOT, built_model

CONFIGS = osp.join(REPO_ROOT, 'configs')
INDEX = yaml.safe_load(open(osp.join(REPO_ROOT, 'model-index.yml')))
METAFILES = INDEX['Import']
MODELS = [
    model for path in METAFILES
    for model in yaml.safe_load(open(osp.join(REPO_ROOT, path)))['Models']
]
# configs/ itself holds the short aliases (each loads a listed config, see
# tests/test_models/test_ssdlite.py and test_deeplabv3.py), _base_/ the
# pieces and peers/ mmdet's / mmpretrain's own models for the demo's
# comparison: no mmvit model of their own
NOT_ALGORITHMS = ('_base_', 'peers')


def test_every_config_is_in_a_metafile_and_every_entry_exists():
    folders = sorted(
        osp.basename(p) for p in glob.glob(osp.join(CONFIGS, '*'))
        if osp.isdir(p) and osp.basename(p) not in NOT_ALGORITHMS)
    assert sorted(METAFILES) == [f'configs/{f}/metafile.yml' for f in folders]
    on_disk = {
        osp.relpath(p, REPO_ROOT)
        for f in folders for p in glob.glob(osp.join(CONFIGS, f, '*.py'))
    }
    listed = [m['Config'] for m in MODELS]
    assert len(listed) == len(set(listed))
    assert set(listed) == on_disk
    names = [m['Name'] for m in MODELS]
    assert len(names) == len(set(names))


def test_entries_follow_the_schema():
    for path in METAFILES:
        meta = yaml.safe_load(open(osp.join(REPO_ROOT, path)))
        collection, = meta['Collections']
        assert osp.isfile(osp.join(REPO_ROOT, collection['README']))
        assert collection['Paper']['URL'].startswith('https://arxiv.org/')
        for model in meta['Models']:
            assert model['In Collection'] == collection['Name']
            assert model['Metadata']['Parameters'] > 0
            assert model['Metadata']['FLOPs'] > 0
            for result in model.get('Results', []):
                assert result['Metrics'] and result['Dataset']
            if 'Converted From' in model:
                assert model['Converted From']['Code'].endswith('ml-cvnets')
                assert model['Converted From']['Weights'].startswith(
                    'https://docs-assets.developer.apple.com/')


@pytest.mark.slow
@pytest.mark.parametrize('model', MODELS, ids=lambda m: m['Name'])
def test_parameters_are_the_models(model):
    built = built_model(osp.join(REPO_ROOT, model['Config']))
    params = sum(p.numel() for p in built.parameters())
    assert model['Metadata']['Parameters'] == params
