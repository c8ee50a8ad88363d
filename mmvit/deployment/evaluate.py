"""Score an exported model with the config's own evaluator, as mmdeploy's
``test.py`` does for its backends: what ``tools/deployment/test.py`` runs.

The config's test dataloader feeds the runtime (batch 1, the images as the
test pipeline loads them at the export size,
:func:`~mmvit.deployment.data.fixed_size_pipeline`; the graph does the
normalisation), the host
post-processing (:mod:`mmvit.deployment.postprocess`) turns the outputs
into the toolbox's data samples, and the config's ``test_evaluator``
(CocoMetric, IoUMetric, Accuracy, ...) scores them. A ``.pth`` checkpoint in
place of an exported file runs the BN-folded PyTorch model through the very
same loop: the reference the runtimes are compared with.
"""
import copy
import time
from typing import Optional, Sequence

import torch

from mmvit.apis import build_model, load_config, model_task
from . import runtimes
from .data import eval_loader_cfg
from .fuse import switch_to_deploy
from .postprocess import to_data_samples
from .wrappers import DetectorExportWrapper, wrap_model


def _pytorch_session(model, task: str, input_shape) -> runtimes.Session:
    wrapper = switch_to_deploy(wrap_model(copy.deepcopy(model), task,
                                          input_shape))

    def run(images):
        with torch.no_grad():
            outputs = wrapper(torch.from_numpy(images))
        outputs = outputs if isinstance(outputs, tuple) else (outputs, )
        return [o.numpy() for o in outputs]

    return runtimes.Session(run, input_shape, 'fp32')


def evaluate(config: str,
             model_file: str,
             cfg_options: Optional[dict] = None,
             num_threads: Optional[int] = None,
             input_shape: Optional[Sequence[int]] = None) -> dict:
    """The metrics of the config's test split through ``model_file``.

    Args:
        config (str): The config file.
        model_file (str): An exported file (``.onnx``, ``.xml``, ``.pte``)
            or a ``.pth`` checkpoint (PyTorch, BN folded).
        cfg_options (dict, optional): ``--cfg-options`` to merge.
        num_threads (int, optional): Runtime threads.
        input_shape (Sequence[int], optional): ``(H, W)`` of a ``.pth``
            checkpoint's run (an exported file has its own).

    Returns:
        dict: The evaluator's metrics plus ``runtime``, ``precision``,
        ``images`` and ``seconds``.
    """
    from mmengine.evaluator import Evaluator
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    cfg = load_config(config, cfg_options=cfg_options)
    pytorch = model_file.endswith('.pth')
    if pytorch and input_shape is None:
        raise ValueError('a .pth checkpoint needs --shape H W (the export '
                         'size to compare with)')
    runtime = 'pytorch' if pytorch else runtimes.runtime_of(model_file)
    # the config's model: its post-processing code and test_cfg
    model = build_model(cfg, model_file if pytorch else None)
    task = model_task(model)
    if task == 'backbone':
        raise ValueError('a backbone has no metric: export a classifier, '
                         'detector or segmentor')
    if pytorch:
        session = _pytorch_session(model, task, input_shape)
    else:
        session = runtimes.load(model_file, num_threads)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        loader_cfg = eval_loader_cfg(cfg, session.input_shape)
        loader_cfg.update(batch_size=1, num_workers=0,
                          persistent_workers=False)
        dataloader = Runner.build_dataloader(loader_cfg)
        evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = dataloader.dataset.metainfo
    level_sizes = ()
    if task == 'detector':
        level_sizes = DetectorExportWrapper(model,
                                            session.input_shape).level_sizes
    start = time.time()
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        for data in dataloader:
            images = torch.stack(data['inputs']).float()
            outputs = session(images)
            samples = to_data_samples(task, model, outputs,
                                      data['data_samples'], level_sizes)
            evaluator.process(data_samples=samples, data_batch=data)
        metrics = evaluator.evaluate(len(dataloader.dataset))
    return dict(
        metrics,
        runtime=runtime,
        precision=session.precision,
        images=len(dataloader.dataset),
        seconds=round(time.time() - start, 1))
