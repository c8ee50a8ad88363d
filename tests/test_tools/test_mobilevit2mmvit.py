import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ARCH_CONFIGS = {
    'small': 'mobilevit-small_8xb128_in1k.py',
    'x_small': 'mobilevit-xsmall_8xb128_in1k.py',
    'xx_small': 'mobilevit-xxsmall_8xb128_in1k.py',
}


def load_tool():
    path = osp.join(REPO_ROOT, 'tools', 'model_converters',
                    'mobilevit2mmvit.py')
    spec = importlib.util.spec_from_file_location('mobilevit2mmvit', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_classifier(cfg_path):
    from mmpretrain.registry import MODELS
    from mmpretrain.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(cfg_path)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    return model.eval()


@pytest.mark.parametrize('arch', sorted(ARCH_CONFIGS))
def test_mmpretrain_checkpoint_converts_to_equal_model(arch, tmp_path):
    # the reference: mmpretrain's own MobileViT classifier config
    import mmpretrain
    reference = build_classifier(
        osp.join(
            osp.dirname(mmpretrain.__file__), '.mim', 'configs', 'mobilevit',
            ARCH_CONFIGS[arch]))
    src, dst = tmp_path / 'mmpretrain.pth', tmp_path / 'mmvit.pth'
    torch.save({'state_dict': reference.state_dict()}, src)

    tool = load_tool()
    tool.main([str(src), str(dst)])

    ours = build_classifier(
        osp.join(REPO_ROOT, 'configs', 'mobilevit', ARCH_CONFIGS[arch]))
    load_checkpoint(ours, str(dst), strict=True)
    x = torch.rand(2, 3, 256, 256)  # already preprocessed: BGR in [0, 1]
    with torch.no_grad():
        ref_logits = reference(x)
        logits = ours(x)
    torch.testing.assert_close(logits, ref_logits, atol=1e-4, rtol=1e-4)
    assert torch.equal(
        logits.topk(5).indices, ref_logits.topk(5).indices)


def test_bare_backbone_checkpoint(tmp_path):
    from mmpretrain.models.backbones import MobileViT as Reference
    src, dst = tmp_path / 'bb.pth', tmp_path / 'out.pth'
    torch.save(Reference(arch='xx_small').state_dict(), src)
    assert load_tool().convert(str(src), str(dst), 'mmpretrain') == 'xx_small'
    keys = torch.load(dst, weights_only=True)['state_dict']
    assert 'layer5.1.global_rep.0.ffn.3.weight' in keys


def test_clear_errors(tmp_path):
    from mmpretrain.models.backbones import MobileViT as Reference
    tool = load_tool()
    with pytest.raises(FileNotFoundError, match='checkpoint not found'):
        tool.convert(str(tmp_path / 'nope.pth'), str(tmp_path / 'o.pth'))

    state = Reference(arch='x_small').state_dict()
    del state['layers.2.1.conv_fusion.conv.weight']
    truncated = tmp_path / 'truncated.pth'
    torch.save(state, truncated)
    with pytest.raises(ValueError, match=r"does not match mmvit MobileViT "
                       r"'x_small': missing keys \['backbone.layer3.1."
                       r"conv_fusion.conv.weight'\]"):
        tool.convert(str(truncated), str(tmp_path / 'o.pth'))

    cvnets = tmp_path / 'cvnets.pth'
    torch.save({'conv_1.block.conv.weight': torch.zeros(16, 3, 3, 3)}, cvnets)
    with pytest.raises(ValueError, match='ml-cvnets checkpoint'):
        tool.convert(str(cvnets), str(tmp_path / 'o.pth'))

    with pytest.raises(SystemExit, match='error: not a MobileViT checkpoint'):
        other = tmp_path / 'other.pth'
        torch.save({'fc.weight': torch.zeros(2, 2)}, other)
        tool.main([str(other), str(tmp_path / 'o.pth')])


def test_pickled_code_is_never_executed(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ('pwned', ))

    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'x': Evil()}}, path)
    with pytest.raises(Exception, match='Weights only load failed'):
        load_tool().convert(str(path), str(tmp_path / 'o.pth'))


def test_converted_checkpoint_initialises_a_dense_backbone(tmp_path):
    """The README's way: a converted classifier initialises the backbone of a
    detector / segmentor through init_cfg with prefix='backbone.'."""
    from mmpretrain.models.backbones import MobileViT as Reference

    from mmvit.models import MobileViT
    reference = Reference(arch='xx_small')
    reference.init_weights()
    src, dst = tmp_path / 'src.pth', tmp_path / 'dst.pth'
    state = {f'backbone.{k}': v for k, v in reference.state_dict().items()}
    state['head.fc.weight'] = torch.zeros(1000, 320)
    state['head.fc.bias'] = torch.zeros(1000)
    torch.save({'state_dict': state}, src)
    load_tool().main([str(src), str(dst)])

    backbone = MobileViT(
        'xx_small',
        out_indices=(3, 4),
        out_stride=16,
        init_cfg=dict(
            type='Pretrained', checkpoint=str(dst), prefix='backbone.'))
    backbone.init_weights()
    torch.testing.assert_close(
        backbone.layer5[1].global_rep[0].attn.qkv.weight,
        reference.layers[4][1].global_rep[0].attn.qkv.weight)
