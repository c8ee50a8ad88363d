import os.path as osp

import pytest
import torch
from conftest import load_tool
from mmengine.analysis import FlopAnalyzer

from mmvit.models import MobileViT
from mmvit.utils import count_flops

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.parametrize('arch', ['x_small', 'xx_small'])
def test_attention_is_counted(arch):
    """What count_flops adds over mmengine's analyzer is exactly the two
    attention matmuls: per MobileViT stage, L layers x P pixel positions x
    N^2 token pairs x d (q.k) + d (attn.v)."""
    x = torch.rand(1, 3, 256, 256)
    model = MobileViT(arch, out_indices=(5, )).eval()
    without = FlopAnalyzer(model, (x, )).unsupported_ops_warnings(
        False).total()
    expected = 0
    for stage, side in zip(model.stage_settings[2:], (32, 16, 8)):
        num_tokens = (side // 2)**2
        expected += (stage.num_transformer_blocks * 4 * num_tokens**2 *
                     2 * stage.embed_dims)
    assert count_flops(model, (x, )) - without == expected


def test_get_flops_tool(capsys):
    tool = load_tool('analysis/get_flops.py')
    tool.main([
        osp.join(REPO_ROOT, 'configs', 'mobilevit',
                 'mobilevit-xxsmall_8xb128_in1k.py')
    ])
    out = capsys.readouterr().out
    assert 'params: 1.272 M' in out
    assert 'FLOPs: 0.418 G' in out  # mmpretrain's model zoo: 0.42 G


def test_network_forward_names_bad_models():
    """NetworkForward runs the named method, and refuses a model it could
    not run with a message naming the problem."""
    from mmvit.utils.flops import NetworkForward
    model = MobileViT('xx_small', out_indices=(5, )).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)[0]
        assert torch.equal(NetworkForward(model, 'forward')(x)[0], expected)
    with pytest.raises(TypeError, match='not an mmengine BaseModel'):
        NetworkForward(model)
    with pytest.raises(AttributeError, match="no method 'forward_feature'"):
        NetworkForward(model, 'forward_feature')
