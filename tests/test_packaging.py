"""mmvit installs into an existing OpenMMLab environment without touching
its torch / mmcv / toolbox builds."""
import json
import os.path as osp
import subprocess
import sys
from distutils.core import run_setup  # noqa: the setuptools-provided shim

import pytest
from packaging.requirements import Requirement

from conftest import REPO_ROOT

# what a user's environment already has and must keep as it is
HOST_PACKAGES = {
    'torch', 'torchvision', 'mmcv', 'mmengine', 'mmdet', 'mmsegmentation',
    'mmpretrain'
}


def _declared_requirements():
    dist = run_setup(osp.join(REPO_ROOT, 'setup.py'), stop_after='init')
    requirements = list(dist.install_requires)
    for extra in dist.extras_require.values():
        requirements += extra
    return [Requirement(r) for r in requirements]


def test_requirements_never_cap_or_pin_the_host_stack():
    found = set()
    for req in _declared_requirements():
        if req.name.lower() not in HOST_PACKAGES:
            continue
        found.add(req.name.lower())
        capping = [s for s in req.specifier if s.operator not in ('>=', '>')]
        assert not capping, (
            f'{req}: only lower bounds may be declared for {req.name}; '
            f'{capping} could make pip reinstall or downgrade it')
    assert {'torch', 'mmcv', 'mmengine', 'mmdet', 'mmsegmentation',
            'mmpretrain'} <= found


@pytest.mark.parametrize('target', ['.', '.[det,seg,cls]'])
def test_editable_install_into_this_env_installs_only_mmvit(tmp_path, target):
    """pip, offline, resolving against the installed stack: the only package
    it would install is mmvit itself."""
    report = tmp_path / 'report.json'
    subprocess.run(
        [
            sys.executable, '-m', 'pip', 'install', '--dry-run', '--no-index',
            '--no-build-isolation', '--quiet', '--report',
            str(report), '-e', target
        ],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True)
    installs = json.loads(report.read_text())['install']
    assert [i['metadata']['name'] for i in installs] == ['mmvit']
