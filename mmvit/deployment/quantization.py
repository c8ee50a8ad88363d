"""Post-training quantization inputs: calibration images from a config.

Calibration runs on ``num`` images of the config's *training* split passed
through its *test* pipeline (what the deployed model sees), at the export
size. The count is checked before any export starts.
"""
import copy
from typing import List, Sequence

import torch
from torch import Tensor


def _dataset_cfg(cfg):
    """The training dataset of ``cfg`` with the test pipeline (wrappers
    such as ``RepeatDataset`` or mmvit's multi-scale dataset unwrapped)."""
    train = copy.deepcopy(cfg.train_dataloader.dataset)
    while 'dataset' in train and 'pipeline' not in train:
        train = train.dataset
    test = cfg.test_dataloader.dataset
    while 'dataset' in test and 'pipeline' not in test:
        test = test.dataset
    train.pipeline = copy.deepcopy(test.pipeline)
    return train


def build_calibration_dataset(cfg):
    """The dataset the calibration images come from (lazily loaded)."""
    from mmengine.registry import DATASETS, DefaultScope
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        return DATASETS.build(_dataset_cfg(cfg))


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
        if tuple(inputs.shape[-2:]) != tuple(input_shape):
            raise ValueError(
                f'the test pipeline gives {inputs.shape[-2]}x'
                f'{inputs.shape[-1]} images, the export size is '
                f'{input_shape[0]}x{input_shape[1]}: export at the '
                'pipeline\'s size or make it resize to the export size')
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
