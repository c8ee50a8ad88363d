"""Classification checkpoints of ml-cvnets, timm and HF convert to mmvit's
ImageClassifier with equal outputs (S / XS / XXS).

References are built locally with random weights (nothing is downloaded):
timm's ``mobilevit_*``, HF's ``MobileViTForImageClassification``, and for
the ml-cvnets layout a state dict whose keys are written out below from the
released checkpoints' naming and checked against the cvnets -> HF rename
logic shipped inside transformers (``convert_mlcvnets_to_pytorch``), with
the HF model as the reference network.
"""
import copy
import math
import os.path as osp
from collections import OrderedDict

import pytest
import torch
from conftest import (load_tool, np_rng, parsed_config, set_norm,
                      torch_generator)
from numerics import assert_close, assert_same_top, relative_error

pytest.importorskip('mmpretrain')
timm = pytest.importorskip('timm')
transformers = pytest.importorskip('transformers')

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ARCHS = ('small', 'x_small', 'xx_small')
CLS_CONFIGS = {
    'small': 'mobilevit-small_8xb128_in1k.py',
    'x_small': 'mobilevit-xsmall_8xb128_in1k.py',
    'xx_small': 'mobilevit-xxsmall_8xb128_in1k.py',
}
TIMM_NAMES = {
    'small': 'mobilevit_s',
    'x_small': 'mobilevit_xs',
    'xx_small': 'mobilevit_xxs'
}
# HF MobileViTConfig per variant, as HF's cvnets converter sets it
HF_SIZES = {
    'small':
    dict(
        hidden_sizes=[144, 192, 240],
        neck_hidden_sizes=[16, 32, 64, 96, 128, 160, 640]),
    'x_small':
    dict(
        hidden_sizes=[96, 120, 144],
        neck_hidden_sizes=[16, 32, 48, 64, 80, 96, 384]),
    'xx_small':
    dict(
        hidden_sizes=[64, 80, 96],
        neck_hidden_sizes=[16, 16, 24, 48, 64, 80, 320],
        expand_ratio=2.0,
        hidden_dropout_prob=0.05),
}
# transformer layers of cvnets' layer_3 / layer_4 / layer_5
DEPTHS = {3: 2, 4: 4, 5: 3}
BN_KEYS = ('weight', 'bias', 'running_mean', 'running_var',
           'num_batches_tracked')


# ------------------------------------------------------------- helpers
def hf_cvnets_converter():
    """transformers' own cvnets -> HF conversion module (no downloads)."""
    from transformers.models.mobilevit import convert_mlcvnets_to_pytorch
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_warning()  # the module turns on info logs
    return convert_mlcvnets_to_pytorch


@torch.no_grad()
def randomize_(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give every parameter and BN statistic a random, well-scaled value (a
    default init leaves norms at 1/0 and would hide swapped norm tensors)."""
    gen = torch_generator(seed)
    for name, tensor in model.state_dict().items():
        if not tensor.is_floating_point():
            continue
        if name.endswith('running_var'):
            tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)
        elif tensor.dim() >= 2:  # conv / linear weights
            fan_in = tensor[0].numel()
            tensor.copy_(
                torch.randn(tensor.shape, generator=gen) / math.sqrt(fan_in))
        elif name.endswith('weight'):  # norm scales
            tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)
        else:  # biases, running means
            tensor.copy_(torch.randn(tensor.shape, generator=gen) * 0.1)
    return model.eval()


def build_from_config(path: str, norm_to_bn: bool = True):
    """Build a config's model in its toolbox scope, without init_weights
    (the weights come from a checkpoint)."""
    from mmengine.registry import MODELS, DefaultScope, init_default_scope
    cfg = parsed_config(path)
    model_cfg = copy.deepcopy(cfg.model)
    if norm_to_bn:  # SyncBN cannot run outside a process group
        set_norm(model_cfg, dict(type='BN'))
    init_default_scope(cfg.default_scope)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(model_cfg).eval()


def cls_config(arch: str) -> str:
    return osp.join(REPO_ROOT, 'configs', 'mobilevit', CLS_CONFIGS[arch])


def load_converted(model, path: str):
    from mmengine.runner import load_checkpoint
    load_checkpoint(model, path, map_location='cpu', strict=True)
    return model.eval()


def make_hf(arch: str, task: str = 'classification'):
    from transformers import (MobileViTConfig, MobileViTForImageClassification,
                              MobileViTForSemanticSegmentation)
    if task == 'classification':
        config = MobileViTConfig(num_labels=1000, **HF_SIZES[arch])
        return randomize_(MobileViTForImageClassification(config))
    config = MobileViTConfig(
        num_labels=21, image_size=512, output_stride=16, **HF_SIZES[arch])
    return randomize_(MobileViTForSemanticSegmentation(config))


def cvnets_backbone_keys(with_exp: bool) -> list:
    """Keys of an ml-cvnets MobileViT encoder, as in the released
    ``mobilevit_*.pt`` (see ``docs`` of ml-cvnets v0.1 module names)."""
    keys = []

    def conv(name, norm=True, bias=False):
        keys.append(f'{name}.block.conv.weight')
        if bias:
            keys.append(f'{name}.block.conv.bias')
        if norm:
            keys.extend(f'{name}.block.norm.{k}' for k in BN_KEYS)

    def mv2(name):
        for part in ('exp_1x1', 'conv_3x3', 'red_1x1'):
            conv(f'{name}.block.{part}')

    conv('conv_1')
    mv2('layer_1.0')
    for block in range(3):
        mv2(f'layer_2.{block}')
    for stage, depth in DEPTHS.items():
        mv2(f'layer_{stage}.0')
        vit = f'layer_{stage}.1'
        conv(f'{vit}.local_rep.conv_3x3')
        conv(f'{vit}.local_rep.conv_1x1', norm=False)
        for i in range(depth):
            for part in ('pre_norm_mha.0', 'pre_norm_mha.1.qkv_proj',
                         'pre_norm_mha.1.out_proj', 'pre_norm_ffn.0',
                         'pre_norm_ffn.1', 'pre_norm_ffn.4'):
                keys += [
                    f'{vit}.global_rep.{i}.{part}.weight',
                    f'{vit}.global_rep.{i}.{part}.bias'
                ]
        keys += [
            f'{vit}.global_rep.{depth}.weight',
            f'{vit}.global_rep.{depth}.bias'
        ]
        conv(f'{vit}.conv_proj')
        conv(f'{vit}.fusion')
    if with_exp:
        conv('conv_1x1_exp')
    return keys


def cvnets_state_dict_from_hf(hf_model, cvnets_keys: list) -> OrderedDict:
    """The cvnets-layout state dict that transformers' own cvnets -> HF
    converter maps onto ``hf_model``'s weights, and proof that it does."""
    converter = hf_cvnets_converter()
    hf_state = hf_model.state_dict()
    state = OrderedDict()
    for key in cvnets_keys:
        probe = torch.zeros(1, 1) if key.endswith('weight') else torch.zeros(1)
        hf_keys = list(converter.convert_state_dict({key: probe}, hf_model))
        if len(hf_keys) == 3:  # qkv_proj -> query, key, value
            assert [k.rsplit('.', 2)[1]
                    for k in hf_keys] == ['query', 'key', 'value']
            state[key] = torch.cat([hf_state[k] for k in hf_keys])
        else:
            state[key] = hf_state[hf_keys[0]]
    # HF's converter must turn this dict into exactly the reference weights
    back = converter.convert_state_dict(OrderedDict(state), hf_model)
    assert set(back) == set(hf_state), (sorted(set(hf_state) ^ set(back))[:10])
    for key, value in back.items():
        assert torch.equal(value, hf_state[key]), key
    return state


def cvnets_classifier_keys() -> list:
    return cvnets_backbone_keys(
        with_exp=True) + ['classifier.fc.weight', 'classifier.fc.bias']


def hf_logits(hf_model, x):
    return hf_model(pixel_values=x).logits


# ------------------------------------------------------------- fixtures
@pytest.fixture(scope='module', autouse=True)
def single_thread():
    """These models are tiny: one thread is as fast, and far faster when the
    machine's cores are shared (OpenMP threads then wait on each other)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def tool():
    return load_tool('model_converters/mobilevit2mmvit.py')


class _LazyModels(dict):
    """arch -> model, built on first use and then shared by the tests."""

    def __init__(self, factory):
        super().__init__()
        self.factory = factory

    def __missing__(self, arch):
        self[arch] = self.factory(arch)
        return self[arch]


@pytest.fixture(scope='module')
def hf_classifiers():
    return _LazyModels(make_hf)


@pytest.fixture(scope='module')
def timm_classifiers():
    return _LazyModels(
        lambda arch: randomize_(timm.create_model(TIMM_NAMES[arch]), seed=1))


@pytest.fixture(scope='module')
def image():
    # non-square and not a multiple of 32: exercises the patch resizing
    return torch.rand(
        1, 3, 128, 160, generator=torch_generator(3))


def _check_logits(fmt, arch, logits, ref_logits):
    print(f'{fmt} {arch}: relative logit error '
          f'{relative_error(logits, ref_logits):.2e}')
    assert logits.shape == ref_logits.shape == (1, 1000)
    assert_close(logits, ref_logits, what='logits')
    assert_close(logits.softmax(-1), ref_logits.softmax(-1), what='probs')
    assert_same_top(logits, ref_logits, k=5)


# ------------------------------------------------------------- parity
@pytest.mark.parametrize('arch', ARCHS)
def test_cvnets_classifier(arch, tool, hf_classifiers, image, tmp_path):
    reference = hf_classifiers[arch]
    state = cvnets_state_dict_from_hf(reference, cvnets_classifier_keys())
    src, dst = tmp_path / f'mobilevit_{arch}.pt', tmp_path / 'mmvit.pth'
    torch.save(state, src)  # released cvnets files are bare state dicts
    tool.main([str(src), str(dst)])
    meta = torch.load(dst, weights_only=True)['meta']
    assert (meta['format'], meta['arch'], meta['task']) == ('cvnets', arch,
                                                            'classifier')

    ours = load_converted(build_from_config(cls_config(arch)), str(dst))
    with torch.no_grad():
        # both take BGR in [0, 1]
        _check_logits('cvnets', arch, ours(image), hf_logits(reference, image))


@pytest.mark.parametrize('arch', ARCHS)
def test_hf_classifier(arch, tool, hf_classifiers, image, tmp_path):
    reference = hf_classifiers[arch]
    # an HF model folder (`save_pretrained` writes pytorch_model.bin here)
    (tmp_path / 'hf').mkdir()
    src, dst = tmp_path / 'hf' / 'pytorch_model.bin', tmp_path / 'mmvit.pth'
    torch.save(reference.state_dict(), src)
    tool.main([str(tmp_path / 'hf'), str(dst), '--format', 'hf'])

    ours = load_converted(build_from_config(cls_config(arch)), str(dst))
    with torch.no_grad():
        _check_logits('hf', arch, ours(image), hf_logits(reference, image))


@pytest.mark.parametrize('arch', ARCHS)
def test_timm_classifier(arch, tool, timm_classifiers, image, tmp_path):
    from safetensors.torch import save_file
    reference = timm_classifiers[arch]
    src, dst = tmp_path / 'model.safetensors', tmp_path / 'mmvit.pth'
    save_file(reference.state_dict(), str(src))  # timm's hub format
    tool.main([str(src), str(dst), '--format', 'timm'])

    ours = load_converted(build_from_config(cls_config(arch)), str(dst))
    with torch.no_grad():
        # timm takes RGB; the converted stem takes mmvit's BGR
        _check_logits('timm', arch, ours(image.flip(1)), reference(image))


def test_timm_keep_rgb(tool, timm_classifiers, image, tmp_path):
    reference = timm_classifiers['xx_small']
    src, dst = tmp_path / 'timm.pth', tmp_path / 'mmvit.pth'
    torch.save(reference.state_dict(), src)
    tool.main([str(src), str(dst), '--keep-rgb'])
    ours = load_converted(build_from_config(cls_config('xx_small')), str(dst))
    with torch.no_grad():
        assert_close(ours(image), reference(image))


def test_converted_classifier_initialises_backbone(tool, hf_classifiers,
                                                   tmp_path):
    """``init_cfg=dict(type='Pretrained', prefix='backbone.')`` takes the
    backbone of a converted classifier."""
    from mmvit.models import MobileViT
    reference = hf_classifiers['x_small']
    src, dst = tmp_path / 'hf.bin', tmp_path / 'mmvit.pth'
    torch.save(reference.state_dict(), src)
    tool.main([str(src), str(dst)])
    backbone = MobileViT(
        'x_small',
        out_indices=(3, 4),
        init_cfg=dict(
            type='Pretrained', checkpoint=str(dst), prefix='backbone.'))
    backbone.init_weights()
    hf_layer = reference.mobilevit.encoder.layer[3]
    assert torch.equal(  # a copy
        backbone.layer4[1].global_rep[0].attn.qkv.weight,
        torch.cat([
            hf_layer.transformer.layer[0].attention.attention.query.weight,
            hf_layer.transformer.layer[0].attention.attention.key.weight,
            hf_layer.transformer.layer[0].attention.attention.value.weight
        ]))


# ------------------------------------------------------------- inferencer
@pytest.mark.parametrize('fmt', ['cvnets', 'hf', 'timm'])
def test_inferencer_top5_matches_reference(fmt, tool, hf_classifiers,
                                           timm_classifiers, tmp_path):
    """mmpretrain's ImageClassificationInferencer with our config and the
    converted checkpoint ranks the same top-5 classes as the reference model
    on the same image file."""
    cv2 = pytest.importorskip('cv2')
    import numpy as np
    from mmpretrain import ImageClassificationInferencer
    arch = 'xx_small'
    if fmt == 'timm':
        reference = timm_classifiers[arch]
        state = reference.state_dict()
    else:
        reference = hf_classifiers[arch]
        state = (
            cvnets_state_dict_from_hf(reference, cvnets_classifier_keys())
            if fmt == 'cvnets' else reference.state_dict())
    src, dst = tmp_path / 'src.pth', tmp_path / 'mmvit.pth'
    torch.save(state, src)
    tool.main([str(src), str(dst)])

    # a smooth colour image, 288 px on the short side so that the test
    # pipeline (resize short side to 288, centre crop 256) only crops
    rng = np_rng()
    small = rng.integers(0, 256, (9, 12, 3), dtype=np.uint8)
    img = cv2.resize(small, (384, 288), interpolation=cv2.INTER_CUBIC)
    path = str(tmp_path / 'image.png')
    assert cv2.imwrite(path, img)

    inferencer = ImageClassificationInferencer(
        model=cls_config(arch), pretrained=str(dst), device='cpu')
    result = inferencer(path)[0]

    bgr = cv2.imread(path)[16:272, 64:320]  # the same 256 x 256 crop
    x = torch.from_numpy(bgr).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        if fmt == 'timm':
            ref_logits = reference(x.flip(1))  # timm takes RGB
        else:
            ref_logits = hf_logits(reference, x)
    ref_scores = ref_logits.softmax(-1)[0]
    assert_close(result['pred_scores'], ref_scores)
    assert_same_top(result['pred_scores'], ref_scores, k=5)


def test_hf_bare_backbone(tool, image, tmp_path):
    """HF ``MobileViTModel`` (no head) -> a bare mmvit backbone state dict
    for ``init_cfg=dict(type='Pretrained', checkpoint=...)`` (no prefix)."""
    from transformers import MobileViTConfig, MobileViTModel

    from mmvit.models import MobileViT
    reference = randomize_(
        MobileViTModel(MobileViTConfig(**HF_SIZES['xx_small'])), seed=11)
    src, dst = tmp_path / 'hf.bin', tmp_path / 'mmvit.pth'
    torch.save(reference.state_dict(), src)
    tool.main([str(src), str(dst)])
    backbone = MobileViT(
        'xx_small',
        out_indices=(5, ),
        init_cfg=dict(type='Pretrained', checkpoint=str(dst))).eval()
    backbone.init_weights()
    with torch.no_grad():
        assert_close(backbone(image)[0], reference(image).last_hidden_state)
