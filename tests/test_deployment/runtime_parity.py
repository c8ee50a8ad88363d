"""The fp32 parity tests of every runtime for one backbone family (the test
files ``test_runtime_parity_v1.py`` / ``_v2.py`` run them per family, so
the two families export on two workers)."""
import os.path as osp

import pytest
from runtime_cases import CASES, SIZE, build_case, check_parity

from mmvit.deployment import export_onnx, runtimes
from mmvit.deployment.runtimes import executorch_runtime, openvino_runtime


def exported(tmp_path_factory, family: str):
    """Every task of ``family`` exported: ONNX (read by onnxruntime, and
    converted to OpenVINO IR) and ExecuTorch; ``{task: (wrapper, files)}``.
    """
    out = {}
    for task, config, options in CASES[family]:
        _, wrapper = build_case(task, config, options)
        tmp = tmp_path_factory.mktemp(f'{family}_{task}')
        files = dict(
            onnxruntime=str(tmp / 'model.onnx'),
            openvino=str(tmp / 'model.xml'),
            executorch=str(tmp / 'model.pte'))
        export_onnx(wrapper, files['onnxruntime'], (SIZE, SIZE))
        openvino_runtime.from_onnx(files['onnxruntime'], files['openvino'],
                                   'fp32')
        report = executorch_runtime.export(wrapper, files['executorch'],
                                           (SIZE, SIZE), 'fp32')
        out[task] = (wrapper, files, report)
    return out


def check_family(models, family: str, runtime: str, task: str) -> None:
    wrapper, files, report = models[task]
    session = runtimes.load(files[runtime], num_threads=2)
    assert session.precision == 'fp32'
    assert session.input_shape == (SIZE, SIZE)
    check_parity(session, wrapper, f'{runtime} {task}')
    if runtime == 'executorch':
        assert set(report['outside_delegate']) <= OUTSIDE_DELEGATE[family], \
            report['outside_delegate']
    if runtime == 'openvino':
        assert osp.exists(osp.splitext(files[runtime])[0] + '.bin')


# what stays outside XNNPACK (the report names it): the segmentor's argmax
# and the broadcast of its ASPP image-pooling branch (expand); MobileViTv2's
# separable attention (max / sum over the patch grid, two non-last dims of
# a rank-5 view, and the context's repeat)
OUTSIDE_DELEGATE = dict(
    v1={'aten.argmax.default', 'aten.expand_copy.default'},
    v2={
        'aten.argmax.default', 'aten.amax.default', 'aten.repeat.default',
        'aten.split_with_sizes_copy.default', 'aten.sum.dim_IntList',
        'aten.unsqueeze_copy.default', 'aten.expand_copy.default'
    })
PARAMS = pytest.mark.parametrize('runtime', runtimes.RUNTIMES)
TASKS = pytest.mark.parametrize('task',
                                ['classifier', 'detector', 'segmentor'])
