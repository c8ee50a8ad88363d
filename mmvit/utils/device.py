"""Start-up checks of the training device, before anything is built.

:func:`check_training_device` runs when the run will train on a CUDA device
and turns two failures that otherwise come late and cryptic into one message
at start-up:

* an mmcv without CUDA kernels (a CPU-only wheel, or a build for another
  torch) makes a detector die at its first evaluation with ``nms_impl:
  implementation for device cuda:0 not found``: a tiny ``mmcv.ops.nms`` on
  the device finds it before training, and the error names the fix;
* ``randomness=dict(deterministic=True)`` makes mmengine call
  ``torch.use_deterministic_algorithms(True)`` (mmengine 0.10 has no
  ``warn_only``), and on CUDA the backward of adaptive average pooling and of
  bilinear upsampling has no deterministic kernel, so the first backward
  raises: a warning names them and the ways out.

On CPU (and other devices) nothing is checked.
"""
import os
import warnings
from typing import Optional, Union

import torch
from mmengine.config import Config

# ops of these models whose CUDA backward torch refuses under
# torch.use_deterministic_algorithms(True), and where they are
NON_DETERMINISTIC_CUDA_OPS = (
    'adaptive_avg_pool2d_backward_cuda (global pooling: the classifier '
    'neck, the ASPP image pool, the SSDLite neck)',
    'upsample_bilinear2d_backward_out_cuda (MobileViT blocks resizing maps '
    'not divisible by the patch size, decode-head and loss resizing)',
)


class DeterministicCUDAWarning(UserWarning):
    """``deterministic=True`` on CUDA will raise at the first backward."""


def training_device() -> torch.device:
    """The device this process will train on: the one mmengine picks
    (``cuda`` when available), ``cuda:LOCAL_RANK`` under torchrun."""
    from mmengine.device import get_device
    device = torch.device(get_device())
    if device.type == 'cuda' and device.index is None:
        device = torch.device('cuda', int(os.environ.get('LOCAL_RANK', '0')))
    return device


def _model_uses_nms(node) -> bool:
    """An ``nms`` entry anywhere in the model config (mmdet's ``test_cfg``
    and ``train_cfg`` of detectors)."""
    if isinstance(node, dict):
        return 'nms' in node or any(_model_uses_nms(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return any(_model_uses_nms(v) for v in node)
    return False


def _run_nms(device: torch.device) -> None:
    """Two overlapping boxes through ``mmcv.ops.nms`` on ``device``."""
    from mmcv.ops import nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.]],
                         device=device)
    scores = torch.tensor([0.9, 0.8], device=device)
    nms(boxes, scores, iou_threshold=0.5)


def check_mmcv_cuda_ops(device: Union[str, torch.device]) -> None:
    """Raise a ``RuntimeError`` naming the fix when mmcv's NMS does not run
    on the CUDA ``device`` (mmcv built without CUDA ops, or for another
    torch / CUDA)."""
    try:
        _run_nms(torch.device(device))
    except Exception as error:  # ImportError, RuntimeError, OSError, ...
        import mmcv
        raise RuntimeError(
            f'mmcv {mmcv.__version__} cannot run its ops on {device}: '
            f'mmcv.ops.nms raised {type(error).__name__}: {error}\n'
            'The installed mmcv has no CUDA kernels for this torch '
            f'({torch.__version__}, CUDA {torch.version.cuda}). Install an '
            'mmcv built with CUDA ops for it: `mim install "mmcv==2.1.0"` '
            '(a prebuilt wheel where OpenMMLab publishes one for this torch '
            '/ CUDA pair), or build it here: `MMCV_WITH_OPS=1 FORCE_CUDA=1 '
            'pip install "mmcv==2.1.0" --no-binary mmcv '
            '--no-build-isolation`.') from error


def check_training_device(cfg: Config,
                          device: Optional[Union[str, torch.device]] = None
                          ) -> None:
    """The start-up checks of ``cfg`` on ``device`` (default: the one this
    process will train on): on CUDA, mmcv's CUDA NMS for models that use NMS
    and a warning for ``randomness.deterministic=True``; elsewhere none."""
    device = torch.device(device) if device is not None else (
        training_device())
    if device.type != 'cuda':
        return
    if _model_uses_nms(cfg.get('model')):
        check_mmcv_cuda_ops(device)
    if (cfg.get('randomness') or {}).get('deterministic'):
        warnings.warn(
            'randomness.deterministic=True on CUDA: mmengine calls '
            'torch.use_deterministic_algorithms(True), and the first backward '
            'will raise in ops that have no deterministic CUDA backward:\n  '
            + '\n  '.join(NON_DETERMINISTIC_CUDA_OPS) +
            '\nEither train with --cfg-options randomness.deterministic=False '
            '(still seeded; not bit-exact between runs), or call '
            'torch.use_deterministic_algorithms(True, warn_only=True) after '
            'the runner is built (a script or a before_train hook), which '
            'warns on those ops instead of raising; mmengine 0.10 has no '
            'warn_only option.',
            DeterministicCUDAWarning,
            stacklevel=2)
