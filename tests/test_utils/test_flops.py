import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.analysis import FlopAnalyzer

from mmvit.models import MobileViT
from mmvit.utils import count_flops

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.parametrize('arch', ['x_small', 'xx_small'])
def test_attention_is_counted(arch):
    """mmpretrain's MobileViT spells attention as explicit matmuls, which
    mmengine counts; our fused attention must count the same."""
    from mmpretrain.models.backbones import MobileViT as Reference
    x = torch.rand(1, 3, 256, 256)
    reference = Reference(arch=arch)
    reference.eval()  # mmpretrain's train() returns None: no chaining
    expected = FlopAnalyzer(reference, (x, )).unsupported_ops_warnings(
        False).total()
    ours = count_flops(MobileViT(arch, out_indices=(5, )).eval(), (x, ))
    assert ours == pytest.approx(expected, rel=1e-3)


def test_get_flops_tool(capsys):
    path = osp.join(REPO_ROOT, 'tools', 'analysis', 'get_flops.py')
    spec = importlib.util.spec_from_file_location('get_flops', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.main([
        osp.join(REPO_ROOT, 'configs', 'mobilevit',
                 'mobilevit-xxsmall_8xb128_in1k.py')
    ])
    out = capsys.readouterr().out
    assert 'params: 1.272 M' in out
    assert 'FLOPs: 0.418 G' in out  # mmpretrain's model zoo: 0.42 G
