"""INT8 on every runtime: a single convolution against the error bound its
quantization steps give (derived, not tuned), then the INT8 export of a
whole random-weight MobileViT model, loaded and run."""
import numpy as np
import pytest
import torch
import torch.nn as nn
from conftest import SEED, torch_generator
from runtime_cases import SIZE, build_case, images

from mmvit.deployment import runtimes

pytest.importorskip('openvino')
pytest.importorskip('executorch')

INT8 = [r for r in runtimes.RUNTIMES
        if 'int8' in runtimes.get_runtime(r).PRECISIONS]


class OneConv(nn.Module):
    """``model``: the name the quantizers annotate."""

    def __init__(self) -> None:
        super().__init__()
        self.model = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        return self.model(x)


def _int8_bound(conv: nn.Conv2d, x: torch.Tensor, y: torch.Tensor) -> float:
    """Largest error of ``conv(x)`` with x quantized per tensor to 8 bits
    over its calibrated range (step ``dx``; ranges include 0, as every
    quantizer's do), weights per output channel symmetric to int8 (step
    ``dw = max|w| / 127``), the bias to int32 (step ``dx dw``) and the output
    requantized over its range (step ``dy``): each of the ``K`` products is
    off by at most ``|w| dx / 2 + |x| dw / 2 + dx dw / 4``, the bias by
    ``dx dw / 2``, the output by ``dy / 2`` more."""
    weight = conv.weight.detach()
    k = weight[0].numel()

    def step(t):
        return (max(float(t.max()), 0.) - min(float(t.min()), 0.)) / 255

    dx, dy = step(x), step(y)
    dw = float(weight.abs().amax(dim=(1, 2, 3)).max()) / 127
    per_term = (float(weight.abs().max()) * dx / 2 +
                float(x.abs().max()) * dw / 2 + dx * dw / 4)
    return k * per_term + dx * dw / 2 + dy / 2


@pytest.mark.parametrize('runtime', INT8)
def test_one_conv_within_int8_bound(tmp_path, runtime):
    torch.manual_seed(SEED)
    module = OneConv().eval()
    calibration = [
        torch.rand(1, 3, 64, 64, generator=torch_generator(i)) * 255
        for i in range(8)
    ]
    module_rt = runtimes.get_runtime(runtime)
    path = str(tmp_path / f'conv{module_rt.SUFFIX}')
    module_rt.export(module, path, (64, 64), 'int8', calibration)
    session = runtimes.load(path, num_threads=1)
    assert session.precision == 'int8'
    x = calibration[3]  # inside the calibrated range
    with torch.no_grad():
        expected = module(x)
    actual = session(x)[0]
    bound = _int8_bound(module.model, torch.cat(calibration),
                        module(torch.cat(calibration)))
    error = float(np.abs(actual - expected.numpy()).max())
    assert error <= bound, (runtime, error, bound)
    # and it is quantized: not the float result to float32 rounding
    assert error > 1e-4 * float(expected.abs().max()), (runtime, error)


@pytest.mark.slow
@pytest.mark.parametrize('runtime', INT8)
def test_int8_detector_exports_and_runs(tmp_path, runtime):
    """The INT8 SSDLite-MobileViT-XXS (random weights) exports, loads as
    INT8 and returns boxes and scores of the float model's shapes."""
    _, wrapper = build_case(
        'detector',
        'ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py', {})
    module_rt = runtimes.get_runtime(runtime)
    path = str(tmp_path / f'det{module_rt.SUFFIX}')
    report = module_rt.export(wrapper, path, (SIZE, SIZE), 'int8',
                              [images(1, offset=i) for i in range(4)])
    session = runtimes.load(path, num_threads=2)
    assert session.precision == 'int8'
    boxes, scores = session(images(1, offset=9))
    with torch.no_grad():
        ref_boxes, ref_scores = wrapper(images(1, offset=9))
    assert boxes.shape == tuple(ref_boxes.shape)
    assert scores.shape == tuple(ref_scores.shape)
    assert np.isfinite(boxes).all() and np.isfinite(scores).all()
    # scores are a softmax (the tail stays float): rows sum to <= 1
    assert (scores.sum(-1) <= 1 + 1e-4).all()
    if runtime == 'executorch':
        assert 'outside_delegate' in report
    else:
        assert report['quantized_ops'] > 0
