import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    glob.glob(osp.join(REPO_ROOT, 'configs', 'mobilevit', '*_in1k.py')))
CLS_PARAMS = {'small': 5.579, 'x_small': 2.318, 'xx_small': 1.272}


def test_the_three_paper_variants_exist():
    names = {osp.basename(c) for c in CONFIGS}
    assert {
        'mobilevit-small_8xb128_in1k.py', 'mobilevit-xsmall_8xb128_in1k.py',
        'mobilevit-xxsmall_8xb128_in1k.py'
    } <= names


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds_the_paper_classifier(path):
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample
    from mmpretrain.utils import register_all_modules
    register_all_modules(init_default_scope=False)

    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmpretrain'
    arch = cfg.model.backbone.arch
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    model.init_weights()
    params = sum(p.numel() for p in model.parameters()) / 1e6
    assert params == pytest.approx(CLS_PARAMS[arch], rel=1e-3)

    # the released weights expect BGR in [0, 1]: no channel flip, no mean/std
    preprocessor = model.data_preprocessor
    assert not preprocessor.to_rgb
    assert preprocessor.mean.flatten().tolist() == [0., 0., 0.]
    assert preprocessor.std.flatten().tolist() == [255., 255., 255.]

    model.eval()
    image = torch.randint(0, 256, (3, 256, 256), dtype=torch.uint8)
    data = dict(inputs=[image], data_samples=[DataSample()])
    with torch.no_grad():
        (sample, ) = model.test_step(data)
    assert sample.pred_score.shape == (1000, )
    assert torch.isclose(sample.pred_score.sum(), torch.tensor(1.))

    model.train()
    labelled = dict(
        inputs=[image, image.flip(-1)],
        data_samples=[DataSample().set_gt_label(3),
                      DataSample().set_gt_label(7)])
    losses = model.loss(*model.data_preprocessor(labelled, True).values())
    assert torch.isfinite(losses['loss'])
