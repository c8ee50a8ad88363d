"""The data an exported model sees: the config's test pipeline at the
export size, and the calibration images of post-training quantization.

An exported graph has one input size. :func:`fixed_size_pipeline` makes a
test pipeline give images of that size: its ``Resize`` steps resize to it
(``keep_ratio=False``), and a pipeline without one (mmseg's evaluation at
the native size) gets one right after the image is loaded, before the
annotations, so the metric still compares with the original masks (the
segmentor's post-processing resizes its logits back to the original size).

Calibration runs on ``num`` images of the config's *training* split passed
through that pipeline. The count is checked before any export starts.
"""
import copy
from typing import List, Sequence

import torch
from torch import Tensor


def _inner(dataset_cfg):
    """A dataset config with wrappers (``RepeatDataset``, mmvit's
    multi-scale dataset) unwrapped."""
    while 'dataset' in dataset_cfg and 'pipeline' not in dataset_cfg:
        dataset_cfg = dataset_cfg.dataset
    return dataset_cfg


def fixed_size_pipeline(pipeline: List[dict],
                        input_shape: Sequence[int]) -> List[dict]:
    """``pipeline`` (a copy) giving ``input_shape`` ``(H, W)`` images."""
    height, width = (int(s) for s in input_shape)
    resize = dict(type='Resize', scale=(width, height), keep_ratio=False)
    steps = [
        dict(step, **resize) if step['type'].split('.')[-1] == 'Resize' else
        copy.deepcopy(step) for step in pipeline
    ]
    if not any(step['type'].split('.')[-1] == 'Resize' for step in steps):
        loads = [
            i for i, step in enumerate(steps)
            if step['type'].split('.')[-1].startswith('LoadImage')
        ]
        steps.insert(loads[0] + 1 if loads else 0, resize)
    return steps


def eval_loader_cfg(cfg, input_shape: Sequence[int]):
    """The test dataloader config of ``cfg`` at ``input_shape``."""
    loader = copy.deepcopy(cfg.test_dataloader)
    inner = _inner(loader.dataset)
    inner.pipeline = fixed_size_pipeline(inner.pipeline, input_shape)
    return loader


def build_calibration_dataset(cfg, input_shape: Sequence[int]):
    """The training split of ``cfg`` through its test pipeline at
    ``input_shape`` (lazily loaded)."""
    from mmengine.registry import DATASETS, DefaultScope
    train = copy.deepcopy(_inner(cfg.train_dataloader.dataset))
    train.pipeline = fixed_size_pipeline(
        _inner(cfg.test_dataloader.dataset).pipeline, input_shape)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        return DATASETS.build(train)


def check_calibration_count(dataset, num: int) -> None:
    """``ValueError`` when ``dataset`` has fewer than ``num`` images."""
    if num < 1:
        raise ValueError(f'--calib must be >= 1, got {num}')
    if len(dataset) < num:
        raise ValueError(f'{num} calibration images asked for, but the '
                         f'training split has only {len(dataset)}')


def calibration_images(dataset, num: int,
                       input_shape: Sequence[int]) -> List[Tensor]:
    """``num`` images ``[1, 3, H, W]`` (float pixels as the pipeline loads
    them), evenly spread over ``dataset``."""
    check_calibration_count(dataset, num)
    step = len(dataset) / num
    images = []
    for i in range(num):
        inputs = dataset[int(i * step)]['inputs']
        assert tuple(inputs.shape[-2:]) == tuple(input_shape)
        images.append(inputs[None].float())
    return images


def random_images(num: int, input_shape: Sequence[int],
                  seed: int = 0) -> List[Tensor]:
    """``num`` random-pixel images (for models without a dataset)."""
    generator = torch.Generator().manual_seed(seed)
    return [
        torch.rand(1, 3, *input_shape, generator=generator) * 255
        for _ in range(num)
    ]
