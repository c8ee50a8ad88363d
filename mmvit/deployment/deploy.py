"""Export the model of a config to a runtime (any of
:data:`mmvit.deployment.runtimes.RUNTIMES`), in fp32, bf16 or INT8: what
``tools/deployment/deploy.py`` runs.

Every check that can fail runs before the model is exported: the runtime
and precision (:func:`runtimes.check`), the input shape, the config and
checkpoint files, the checkpoint against the model (strict load), and for
INT8 the number of calibration images the training split has.
"""
import os
import os.path as osp
import time
from typing import Optional, Sequence

from mmvit.apis import build_model, load_config, model_task
from . import runtimes
from .data import (build_calibration_dataset, calibration_images,
                   check_calibration_count)
from .fuse import switch_to_deploy
from .wrappers import check_input_shape, wrap_model


def deploy_config(config: str,
                  out: str,
                  runtime: str,
                  input_shape: Sequence[int],
                  precision: str = 'fp32',
                  checkpoint: Optional[str] = None,
                  task: str = 'auto',
                  with_nms: bool = False,
                  calib: int = 64,
                  cfg_options: Optional[dict] = None) -> dict:
    """Build, wrap, BN-fold and export the model of ``config`` to ``out``.

    Args:
        config (str): The config file.
        out (str): The file to write (its suffix must be the runtime's).
        runtime (str): One of :data:`runtimes.RUNTIMES`.
        input_shape (Sequence[int]): ``(H, W)``, multiples of 32.
        precision (str): ``fp32``, ``bf16`` or ``int8``. Defaults to fp32.
        checkpoint (str, optional): Weights (strict); None for random.
        task (str): What to export; ``auto`` for the config's model.
        with_nms (bool): Detectors: NMS in the graph (ONNX / OpenVINO).
        calib (int): INT8: calibration images from the training split
            through the test pipeline. Defaults to 64.
        cfg_options (dict, optional): Overrides of the config.

    Returns:
        dict: ``runtime``, ``precision``, ``task``, ``file``, ``bytes``,
        ``seconds`` and the runtime's report (e.g. ``outside_delegate``).
    """
    runtimes.check(runtime, precision, with_nms)
    module = runtimes.get_runtime(runtime)
    if osp.splitext(out)[1] != module.SUFFIX:
        raise ValueError(f'{runtime} writes {module.SUFFIX} files, not '
                         f'{out!r}')
    height, width = (int(s) for s in input_shape)
    check_input_shape(height, width)
    cfg = load_config(config, cfg_options=cfg_options)
    dataset = None
    if precision == 'int8':
        dataset = build_calibration_dataset(cfg, (height, width))
        check_calibration_count(dataset, calib)
    model = build_model(cfg, checkpoint)
    if task == 'auto':
        task = model_task(model)
    wrapper = switch_to_deploy(
        wrap_model(model, task, (height, width), with_nms=with_nms))
    calibration = ()
    if dataset is not None:
        calibration = calibration_images(dataset, calib, (height, width))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    start = time.time()
    # (the wrapper is this call's own: no export needs a copy of it)
    report = module.export(wrapper, out, (height, width), precision,
                           calibration)
    return dict(
        runtime=runtime,
        precision=precision,
        task=task,
        file=out,
        bytes=runtimes.file_size(out),
        seconds=round(time.time() - start, 1),
        **report)
