"""DeepLabv3 checkpoints of HF (``MobileViTForSemanticSegmentation``) and
ml-cvnets (``deeplabv3_mobilevit_*.pt``) convert to mmvit's mmseg segmentor
(``configs/deeplabv3_mobilevit-*-d16_4xb32-50e_voc12aug-512x512.py``) with
equal logits.

The reference is HF's segmentation model with random weights; the cvnets
layout is written out from the released checkpoints' naming and checked
against transformers' own cvnets -> HF conversion logic. The released v0.1
files nest the last conv (``seg_head.classifier.classifier.block.conv``);
both that and the flat ``seg_head.classifier.block.conv`` convert.
"""
import os.path as osp
from collections import OrderedDict

import pytest
import torch
from conftest import load_tool, torch_generator
from numerics import assert_close, assert_same_top, relative_error
# helpers shared with the classification tests (skips this module as well
# when mmpretrain, timm or transformers are missing)
from test_convert_classification import (ARCHS, BN_KEYS, REPO_ROOT,
                                         build_from_config,
                                         cvnets_backbone_keys,
                                         cvnets_state_dict_from_hf,
                                         hf_cvnets_converter, load_converted,
                                         make_hf, randomize_, single_thread)

from mmvit.converters import mmvit_to_cvnets

pytest.importorskip('mmseg')

__all__ = ['single_thread']  # a module-wide fixture, used by being here

SEG_CONFIGS = {
    'small': 'deeplabv3_mobilevit/deeplabv3_mobilevit-s-d16_4xb32-50e_voc12aug-512x512.py',
    'x_small': 'deeplabv3_mobilevit/deeplabv3_mobilevit-xs-d16_4xb32-50e_voc12aug-512x512.py',
    'xx_small': 'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_4xb32-50e_voc12aug-512x512.py',
}


# ml-cvnets v0.1's segmentation head keeps its last conv inside a Sequential
# `classifier` (classifier_dropout, classifier, up_16), so the released
# deeplabv3_mobilevit_*.pt name it one level deeper than a bare conv
FLAT_CLASSIFIER = 'seg_head.classifier.block.conv.'
NESTED_CLASSIFIER = 'seg_head.classifier.classifier.block.conv.'


def cvnets_segmentation_keys(num_rates: int = 3) -> list:
    """Keys of an ml-cvnets DeepLabv3 checkpoint: ``encoder.`` backbone
    (no expansion layer) + ASPP [1x1, rates..., pool] + project +
    classifier."""
    aspp = 'seg_head.aspp.aspp_layer'
    head = []
    branches = [f'{aspp}.convs.{i}' for i in range(num_rates + 1)]
    branches.append(f'{aspp}.convs.{num_rates + 1}.aspp_pool.conv_1x1')
    for name in branches + [f'{aspp}.project']:
        head.append(f'{name}.block.conv.weight')
        head.extend(f'{name}.block.norm.{k}' for k in BN_KEYS)
    head += [
        'seg_head.classifier.block.conv.weight',
        'seg_head.classifier.block.conv.bias'
    ]
    return [f'encoder.{k}'
            for k in cvnets_backbone_keys(with_exp=False)] + head


@pytest.fixture(scope='module')
def tool():
    return load_tool('model_converters/mobilevit2mmvit.py')


@pytest.fixture(scope='module')
def image():
    return torch.rand(
        1, 3, 128, 128, generator=torch_generator(5))


def seg_logits(model, x):
    """Logits at the head's resolution (1/16 of the input)."""
    return model.decode_head.forward(model.extract_feat(x))


def _compare(fmt, arch, ours, reference, image):
    with torch.no_grad():
        logits = seg_logits(ours, image)
        ref = reference(pixel_values=image).logits
    print(f'{fmt} deeplabv3 {arch}: relative logit error '
          f'{relative_error(logits, ref):.2e}')
    assert logits.shape == ref.shape == (1, 21, 8, 8)
    assert_close(logits, ref, what='logits')
    assert_close(logits.softmax(1), ref.softmax(1), what='probs')
    assert_same_top(logits, ref, dim=1)


@pytest.mark.parametrize('arch', ARCHS)
def test_hf_and_cvnets_deeplabv3(arch, tool, image, tmp_path):
    reference = make_hf(arch, task='segmentation')
    config = osp.join(REPO_ROOT, 'configs', SEG_CONFIGS[arch])

    # HF layout
    src, dst = tmp_path / 'hf.bin', tmp_path / 'hf_mmvit.pth'
    torch.save(reference.state_dict(), src)
    tool.main([str(src), str(dst), '--format', 'hf'])
    meta = torch.load(dst, weights_only=True)['meta']
    assert (meta['format'], meta['arch'], meta['task']) == ('hf', arch,
                                                            'segmentor')
    _compare('hf', arch, load_converted(build_from_config(config), str(dst)),
             reference, image)

    # cvnets layout of the same weights
    state = cvnets_state_dict_from_hf(reference, cvnets_segmentation_keys())
    src, dst = tmp_path / 'deeplabv3.pt', tmp_path / 'cvnets_mmvit.pth'
    torch.save(state, src)
    tool.main([str(src), str(dst), '--format', 'cvnets'])
    _compare('cvnets', arch,
             load_converted(build_from_config(config),
                            str(dst)), reference, image)


def test_segmentor_of_wrong_variant_is_refused(tool, tmp_path):
    reference = make_hf('xx_small', task='segmentation')
    src = tmp_path / 'hf.bin'
    torch.save(reference.state_dict(), src)
    config = osp.join(REPO_ROOT, 'configs', SEG_CONFIGS['small'])
    with pytest.raises(
            SystemExit,
            match=r"does not match mmvit MobileViT 'small' .*"
            r"\(the checkpoint is MobileViT 'xx_small'\): missing keys "
            r'\[\] .* shape mismatches \[.*backbone\.'):
        tool.main([str(src), str(tmp_path / 'o.pth'), '--config', config])


def nested_v01_layout(state: dict) -> OrderedDict:
    """The released v0.1 layout of a flat cvnets DeepLabv3 state dict: the
    classifier conv one ``classifier.`` deeper, every other key as it is."""
    assert {FLAT_CLASSIFIER + 'weight', FLAT_CLASSIFIER + 'bias'} <= set(state)
    return OrderedDict(
        (NESTED_CLASSIFIER + k[len(FLAT_CLASSIFIER):]
         if k.startswith(FLAT_CLASSIFIER) else k, v) for k, v in state.items())


def test_nested_classifier_is_the_layout_transformers_reads():
    """transformers' own cvnets converter (written against the released
    files) maps the nested key to HF's classifier, as it does the flat one."""
    rename = hf_cvnets_converter().rename_key
    for prefix in (NESTED_CLASSIFIER, FLAT_CLASSIFIER):
        assert rename(prefix + 'weight') == \
            'segmentation_head.classifier.convolution.weight'


@pytest.mark.parametrize('arch', ARCHS)
def test_released_v01_nested_classifier_converts(arch, tool, image, tmp_path):
    """A DeepLabv3 checkpoint in the v0.1 layout (nested classifier)
    converts, loads strictly and predicts the logits of the model whose
    weights it holds."""
    config = osp.join(REPO_ROOT, 'configs', SEG_CONFIGS[arch])
    source = randomize_(build_from_config(config), seed=7)
    state = nested_v01_layout(mmvit_to_cvnets(source.state_dict()))
    assert not any(k.startswith(FLAT_CLASSIFIER) for k in state)
    src, dst = tmp_path / 'deeplabv3_v01.pt', tmp_path / 'v01_mmvit.pth'
    torch.save(state, src)
    tool.main([str(src), str(dst), '--format', 'cvnets', '--config', config])
    meta = torch.load(dst, weights_only=True)['meta']
    assert (meta['format'], meta['arch'], meta['task']) == ('cvnets', arch,
                                                            'segmentor')

    target = load_converted(build_from_config(config), str(dst))
    with torch.no_grad():
        logits, ref = seg_logits(target, image), seg_logits(source, image)
    assert logits.shape == (1, 21, 8, 8)
    assert_close(logits, ref, what='logits')


def test_both_classifier_layouts_at_once_are_refused(tool, tmp_path):
    """A state dict holding the flat and the nested classifier is two layouts
    of one weight: the converter says so and names both keys."""
    config = osp.join(REPO_ROOT, 'configs', SEG_CONFIGS['xx_small'])
    flat = mmvit_to_cvnets(
        randomize_(build_from_config(config), seed=8).state_dict())
    both = OrderedDict(flat)
    both.update(nested_v01_layout(flat))
    src = tmp_path / 'both.pt'
    torch.save(both, src)
    with pytest.raises(
            SystemExit,
            match=r'2 mmvit key\(s\) would get more than one tensor .*'
            r'seg_head\.classifier\.block\.conv\.weight and '
            r'seg_head\.classifier\.classifier\.block\.conv\.weight -> '
            r'decode_head\.conv_seg\.weight.* keep one of them'):
        tool.main([str(src), str(tmp_path / 'o.pth'), '--format', 'cvnets'])
