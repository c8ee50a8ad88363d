"""Run a size-taking transform at the size the multi-scale sampler drew."""
import copy
from typing import Dict, Optional, Tuple

from mmcv.transforms import BaseTransform

from mmvit.registry import TRANSFORMS

#: Key of the ``(height, width)`` that :class:`MultiScaleDataset` puts in the
#: pipeline's ``results`` when the batch sampler drew a size for the sample.
SAMPLED_SIZE_KEY = 'sampled_size'

_SIZE_ORDERS = ('hw', 'wh')


@TRANSFORMS.register_module()
class SampledSizeTransform(BaseTransform):
    """Apply ``transform`` with its size argument set to the sampled size.

    :class:`MultiScaleVariableBatchSampler` draws an input size per batch and
    :class:`MultiScaleDataset` stores it in ``results['sampled_size']`` as
    ``(height, width)``. This transform then runs the wrapped transform built
    with ``size_arg`` set to that size (one instance per size, built on first
    use inside each dataloader worker). Without a sampled size (validation,
    a plain sampler) the wrapped transform runs as configured.

    Examples:
        >>> # classification (mmpretrain RandomResizedCrop takes (h, w))
        >>> dict(type='mmvit.SampledSizeTransform',
        ...      transform=dict(type='RandomResizedCrop', scale=256),
        ...      size_arg='scale', size_order='hw')
        >>> # detection (mmdet Resize takes (w, h))
        >>> dict(type='mmvit.SampledSizeTransform',
        ...      transform=dict(type='Resize', scale=(320, 320),
        ...                     keep_ratio=False),
        ...      size_arg='scale', size_order='wh')
        >>> # segmentation (mmseg RandomCrop takes (h, w))
        >>> dict(type='mmvit.SampledSizeTransform',
        ...      transform=dict(type='RandomCrop', crop_size=(512, 512),
        ...                     cat_max_ratio=0.75),
        ...      size_arg='crop_size', size_order='hw')

    Args:
        transform (dict): Config of the wrapped transform. It must set
            ``size_arg``: that value is used when no size was sampled.
        size_arg (str): The wrapped transform's size argument, e.g.
            ``'scale'`` (mmpretrain ``RandomResizedCrop``, mmdet/mmcv
            ``Resize``) or ``'crop_size'`` (mmseg/mmdet ``RandomCrop``).
        size_order (str): How that argument orders the sides: ``'hw'``
            (height first) or ``'wh'`` (width first, as ``Resize.scale``).
    """

    def __init__(self, transform: dict, size_arg: str,
                 size_order: str) -> None:
        if not isinstance(transform, dict) or 'type' not in transform:
            raise TypeError('transform must be a transform config dict with '
                            f'a "type", but got {transform!r}')
        if size_arg not in transform:
            raise ValueError(
                f'transform config {transform!r} must set its size argument '
                f'{size_arg!r} (the size used when none was sampled)')
        if size_order not in _SIZE_ORDERS:
            raise ValueError(
                f'size_order must be one of {_SIZE_ORDERS}, but got '
                f'{size_order!r}')
        self.size_arg = size_arg
        self.size_order = size_order
        self.default_transform = TRANSFORMS.build(copy.deepcopy(transform))
        # Resolve the class now, under the config's default scope, so that
        # workers build per-size instances without a registry lookup.
        self._transform_type = type(self.default_transform)
        self._transform_args = {
            key: value
            for key, value in transform.items()
            if key not in ('type', '_scope_')
        }
        self._by_size: Dict[Tuple[int, int], BaseTransform] = {}

    def transform_for(self, size: Tuple[int, int]) -> BaseTransform:
        """The wrapped transform built for ``size`` = ``(height, width)``."""
        size = (int(size[0]), int(size[1]))
        built = self._by_size.get(size)
        if built is None:
            args = copy.deepcopy(self._transform_args)
            args[self.size_arg] = size if self.size_order == 'hw' else (
                size[1], size[0])
            built = self._transform_type(**args)
            self._by_size[size] = built
        return built

    def transform(self, results: dict) -> Optional[dict]:
        """Run the wrapped transform at ``results['sampled_size']``."""
        size = results.get(SAMPLED_SIZE_KEY)
        if size is None:
            return self.default_transform(results)
        return self.transform_for(size)(results)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(transform={self.default_transform!r}'
                f', size_arg={self.size_arg!r}, '
                f'size_order={self.size_order!r})')
