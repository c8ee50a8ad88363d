"""fp32 parity of onnxruntime, OpenVINO and ExecuTorch with PyTorch for the
v2 classifier, detector and segmentor (see runtime_parity.py)."""
import pytest
from runtime_parity import PARAMS, TASKS, check_family, exported

pytest.importorskip('openvino')
pytest.importorskip('executorch')


@pytest.fixture(scope='module')
def models(tmp_path_factory):
    return exported(tmp_path_factory, 'v2')


@PARAMS
@TASKS
def test_fp32_parity(models, runtime, task):
    check_family(models, 'v2', runtime, task)
