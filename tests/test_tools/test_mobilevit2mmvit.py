import os.path as osp

import pytest
import torch
from conftest import load_tool, parsed_config, torch_generator
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from numerics import assert_close, assert_same_top, relative_error

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ARCH_CONFIGS = {
    'small': 'mobilevit-small_8xb128_in1k.py',
    'x_small': 'mobilevit-xsmall_8xb128_in1k.py',
    'xx_small': 'mobilevit-xxsmall_8xb128_in1k.py',
}


@pytest.fixture(scope='module', autouse=True)
def single_thread():
    """These models are tiny: one thread is as fast, and far faster when the
    machine's cores are shared (OpenMP threads then wait on each other)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def converter():
    return load_tool('model_converters/mobilevit2mmvit.py')


def build_classifier(cfg_path):
    """The config's model with random weights (every parameter and BN
    statistic; init_weights would leave the norms at 1 / 0)."""
    from mmpretrain.registry import MODELS
    from mmpretrain.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = parsed_config(cfg_path)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    gen = torch_generator()
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if not tensor.is_floating_point():
                continue
            if name.endswith('running_var') or (tensor.dim() == 1
                                                and name.endswith('weight')):
                tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)
            elif tensor.dim() >= 2:
                tensor.copy_(
                    torch.randn(tensor.shape, generator=gen) /
                    tensor[0].numel()**0.5)
            else:
                tensor.copy_(torch.randn(tensor.shape, generator=gen) * 0.1)
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

    tool = converter()
    tool.main([str(src), str(dst)])

    ours = build_classifier(
        osp.join(REPO_ROOT, 'configs', 'mobilevit', ARCH_CONFIGS[arch]))
    load_checkpoint(ours, str(dst), strict=True)
    x = torch.rand(1, 3, 128, 160)  # already preprocessed: BGR in [0, 1]
    with torch.no_grad():
        ref_logits = reference(x)
        logits = ours(x)
    print(f'mmpretrain {arch}: relative logit error '
          f'{relative_error(logits, ref_logits):.2e}')
    assert_close(logits, ref_logits)
    assert_same_top(logits, ref_logits, k=5)


def test_bare_backbone_checkpoint(tmp_path):
    from mmpretrain.models.backbones import MobileViT as Reference
    src, dst = tmp_path / 'bb.pth', tmp_path / 'out.pth'
    torch.save(Reference(arch='xx_small').state_dict(), src)
    assert converter().convert(str(src), str(dst), 'mmpretrain') == 'xx_small'
    keys = torch.load(dst, weights_only=True)['state_dict']
    assert 'layer5.1.global_rep.0.ffn.3.weight' in keys


def test_clear_errors(tmp_path):
    from mmpretrain.models.backbones import MobileViT as Reference
    tool = converter()
    with pytest.raises(FileNotFoundError, match='checkpoint not found'):
        tool.convert(str(tmp_path / 'nope.pth'), str(tmp_path / 'o.pth'))

    state = Reference(arch='x_small').state_dict()
    del state['layers.2.1.conv_fusion.conv.weight']
    truncated = tmp_path / 'truncated.pth'
    torch.save(state, truncated)
    with pytest.raises(
            ValueError,
            match=r"does not match mmvit MobileViT "
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
        converter().convert(str(path), str(tmp_path / 'o.pth'))


def test_converted_checkpoint_initialises_a_dense_backbone(tmp_path):
    """The docs' way: a converted classifier initialises the backbone of a
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
    converter().main([str(src), str(dst)])

    backbone = MobileViT(
        'xx_small',
        out_indices=(3, 4),
        out_stride=16,
        init_cfg=dict(
            type='Pretrained', checkpoint=str(dst), prefix='backbone.'))
    backbone.init_weights()
    assert torch.equal(  # a copy
        backbone.layer5[1].global_rep[0].attn.qkv.weight,
        reference.layers[4][1].global_rep[0].attn.qkv.weight)


def _xx_small_classifier_state():
    from mmpretrain.models.backbones import MobileViT as Reference
    state = {
        f'backbone.{k}': v
        for k, v in Reference(arch='xx_small').state_dict().items()
    }
    state['head.fc.weight'] = torch.zeros(1000, 320)
    state['head.fc.bias'] = torch.zeros(1000)
    return state


def test_format_given_must_match_the_keys(tmp_path):
    src = tmp_path / 'mmpretrain.pth'
    torch.save({'state_dict': _xx_small_classifier_state()}, src)
    with pytest.raises(
            SystemExit,
            match='expected a timm checkpoint .*--format timm.*, but its '
            'keys are in the mmpretrain layout'):
        converter().main(
            [str(src), str(tmp_path / 'o.pth'), '--format', 'timm'])
    with pytest.raises(SystemExit, match='--keep-rgb applies to timm'):
        converter().main([str(src), str(tmp_path / 'o.pth'), '--keep-rgb'])


def test_wrong_variant_names_the_expected_one(tmp_path):
    src = tmp_path / 'mmpretrain.pth'
    torch.save({'state_dict': _xx_small_classifier_state()}, src)
    with pytest.raises(
            SystemExit,
            match=r"does not match mmvit MobileViT 'small' \(.*mobilevit-"
            r"small_8xb128_in1k.py\) \(the checkpoint is MobileViT "
            r"'xx_small'\): missing keys \[\] \(0 in all\), unexpected keys "
            r'\[\] \(0 in all\), shape mismatches \[.backbone.layer1'):
        converter().main(
            [str(src), str(tmp_path / 'o.pth'), '--arch', 'small'])


def test_unknown_keys_are_never_dropped(tmp_path):
    from mmvit.converters import cvnets_to_mmvit, mmvit_to_cvnets
    state = mmvit_to_cvnets(_xx_small_classifier_state_mmvit())
    assert 'classifier.fc.weight' in state and 'conv_1.block.conv.weight' in \
        state
    state['layer_5.1.extra.weight'] = torch.zeros(1)
    with pytest.raises(
            ValueError,
            match=r"1 key\(s\) of this cvnets classifier checkpoint "
            r"have no place in mmvit: \['layer_5.1.extra.weight'\]"):
        cvnets_to_mmvit(state)
    src = tmp_path / 'cvnets.pt'
    torch.save(state, src)
    with pytest.raises(SystemExit, match='layer_5.1.extra.weight'):
        converter().main([str(src), str(tmp_path / 'o.pth')])


def _xx_small_classifier_state_mmvit():
    from mmvit.converters import mmpretrain_to_mmvit
    return mmpretrain_to_mmvit(_xx_small_classifier_state())


def test_other_bad_inputs(tmp_path):
    from mmvit.converters import convert_state_dict, hf_to_mmvit
    tool = converter()
    mmvit_state = _xx_small_classifier_state_mmvit()
    with pytest.raises(ValueError, match='already in the mmvit layout'):
        convert_state_dict(mmvit_state)

    path = tmp_path / 'not_tensors.pth'
    torch.save({'state_dict': {'a': 1, 'b': torch.zeros(1)}}, path)
    with pytest.raises(SystemExit, match=r"not a state dict: \['a'\]"):
        tool.main([str(path), str(tmp_path / 'o.pth')])

    qkv = 'mobilevit.encoder.layer.4.transformer.layer.0.attention.attention'
    hf = {
        'mobilevit.encoder.layer.4.transformer.layer.0.layernorm_before.'
        'weight':
        torch.zeros(96),
        f'{qkv}.query.weight':
        torch.zeros(96, 96),
        f'{qkv}.value.weight':
        torch.zeros(96, 96),
        'classifier.weight':
        torch.zeros(1000, 320),
    }
    with pytest.raises(ValueError, match=r"lacks the \['key'\] part"):
        hf_to_mmvit(hf)


def test_cvnets_round_trip_of_a_classifier():
    """mmvit -> cvnets -> mmvit is the identity (keys and tensors)."""
    from mmvit.converters import cvnets_to_mmvit, mmvit_to_cvnets
    state = _xx_small_classifier_state_mmvit()
    back = cvnets_to_mmvit(mmvit_to_cvnets(state))
    assert list(back) == list(state)
    assert all(torch.equal(back[k], state[k]) for k in state)
