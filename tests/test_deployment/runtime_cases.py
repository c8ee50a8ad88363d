"""Shared by the runtime tests: the small models of each task (MobileViT-XXS
and MobileViTv2-0.5 at 128x128, normalisation layers randomised so folding
and parity are not trivially exact), their wrappers, and the parity check
of a loaded runtime session against the PyTorch wrapper."""
import copy
import os.path as osp

import numpy as np
import torch
from conftest import SEED, parsed_config, randomize_norms, torch_generator
from numerics import ARGMAX_FLIP_FRACTION, assert_close

from mmvit.apis import build_model
from mmvit.deployment import switch_to_deploy, wrap_model

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO_ROOT, 'configs')
SIZE = 128
CLS_CFG = 'mobilevit/mobilevit-xxsmall_1xb32_shapes.py'
DET_CFG = 'ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py'
SEG_CFG = ('deeplabv3_mobilevit/'
           'deeplabv3_mobilevit-xxs-d16_1xb8-2e_shapes-256x256.py')
# (task, config, overrides) per family: v1 XXS as the demo configures it,
# v2 0.5 as its COCO / VOC configs do
CASES = {
    'v1': [('classifier', CLS_CFG, {}), ('detector', DET_CFG, {}),
           ('segmentor', SEG_CFG, {})],
    'v2': [('classifier', 'mobilevitv2/mobilevitv2-050_8xb128_in1k.py', {}),
           ('detector', 'ssdlite_mobilevitv2/'
            'ssdlite_mobilevitv2-050_4xb32-200e_coco.py', {}),
           ('segmentor', 'deeplabv3_mobilevitv2/deeplabv3_mobilevitv2-050-'
            'd16_4xb32-50e_voc12aug-coco-512x512.py', {})],
}


def build_case(task: str, config: str, options: dict):
    """The model of ``config`` (with ``options``) at :data:`SIZE`, norms
    randomised; returns ``(model, wrapper)``, the wrapper BN-folded."""
    torch.manual_seed(SEED)
    cfg = parsed_config(osp.join(CONFIGS, config))
    cfg.merge_from_dict(options)
    if task == 'detector':
        cfg.model.bbox_head.anchor_generator.input_size = SIZE
    model = build_model(cfg)
    randomize_norms(model)
    wrapper = switch_to_deploy(wrap_model(model, task, (SIZE, SIZE)))
    return model, wrapper


def images(batch: int = 1, offset: int = 1) -> torch.Tensor:
    return torch.rand(
        batch, 3, SIZE, SIZE, generator=torch_generator(offset)) * 255


def check_parity(session, wrapper, what: str) -> None:
    """The session's outputs equal the wrapper's under the suite's relative
    rule (labels: at most the argmax flip fraction differs)."""
    inputs = images(2)
    with torch.no_grad():
        expected = wrapper(inputs)
    expected = expected if isinstance(expected, tuple) else (expected, )
    actual = session(inputs)
    assert len(actual) == len(expected), what
    for act, exp in zip(actual, expected):
        exp = exp.numpy()
        assert act.shape == exp.shape, (what, act.shape, exp.shape)
        if np.issubdtype(exp.dtype, np.integer):
            assert (act != exp).mean() <= ARGMAX_FLIP_FRACTION, what
        else:
            assert_close(act, exp, what=what)


def deepcopy(module):
    return copy.deepcopy(module)
