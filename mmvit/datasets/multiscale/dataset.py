"""Dataset wrapper that carries a batch's sampled size into the pipeline."""
from typing import Any, Callable, Iterator, List, Optional, Tuple, Union

from mmvit.registry import DATASETS
from .transform import SAMPLED_SIZE_KEY, SampledSizeTransform


class _SizeSlot:
    """The ``(height, width)`` of the sample being loaded, or ``None``."""

    def __init__(self) -> None:
        self.size: Optional[Tuple[int, int]] = None


class _SizedPipeline:
    """A dataset pipeline that first writes the slot's size into results."""

    def __init__(self, pipeline: Callable, slot: _SizeSlot) -> None:
        self.pipeline = pipeline
        self.slot = slot

    @property
    def transforms(self) -> List[Callable]:
        return getattr(self.pipeline, 'transforms', [])

    def __call__(self, results: dict) -> Optional[dict]:
        if self.slot.size is not None:
            results[SAMPLED_SIZE_KEY] = self.slot.size
        return self.pipeline(results)

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.pipeline!r})'


def _datasets_with_pipeline(dataset: Any) -> Iterator[Any]:
    """The dataset and nested datasets (wrappers' ``dataset``/``datasets``)
    that run a callable ``pipeline``."""
    if callable(getattr(dataset, 'pipeline', None)):
        yield dataset
    inner = getattr(dataset, 'dataset', None)
    if inner is not None:
        yield from _datasets_with_pipeline(inner)
    for inner in getattr(dataset, 'datasets', None) or []:
        yield from _datasets_with_pipeline(inner)


def _has_sampled_size_transform(transforms: Any) -> bool:
    for transform in transforms or []:
        if isinstance(transform, SampledSizeTransform):
            return True
        if _has_sampled_size_transform(getattr(transform, 'transforms', [])):
            return True
    return False


@DATASETS.register_module()
class MultiScaleDataset:
    """Let the pipeline of ``dataset`` see the size its batch was drawn at.

    :class:`MultiScaleVariableBatchSampler` yields ``(height, width, index)``
    items. For such an item this wrapper loads ``dataset[index]`` with
    ``results['sampled_size'] = (height, width)`` set before the first
    transform, and :class:`SampledSizeTransform` (which must be in the
    pipeline) applies it. Plain ``int`` indices load the sample unchanged.

    The size travels with each index, and the wrapper sets it only for the
    duration of one ``__getitem__`` call in the process that loads the
    sample, so it works with any ``num_workers`` and ``persistent_workers``.
    Nested wrappers (``RepeatDataset``, ``ConcatDataset``, ...) inside it are
    fine; put this wrapper outermost.

    Args:
        dataset (dict | Dataset): The dataset (or its config) to wrap.
        lazy_init (bool): Defer ``full_init`` of the wrapped dataset until
            the runner calls it. Defaults to False.
    """

    #: Read by :class:`MultiScaleVariableBatchSampler`: this dataset accepts
    #: ``(height, width, index)`` items.
    accepts_sized_indices = True

    def __init__(self,
                 dataset: Union[dict, Any],
                 lazy_init: bool = False) -> None:
        if isinstance(dataset, dict):
            dataset = DATASETS.build(dataset)
        self.dataset = dataset
        self._slot = _SizeSlot()
        targets = list(_datasets_with_pipeline(dataset))
        if not targets:
            raise TypeError(
                f'MultiScaleDataset found no pipeline in '
                f'{type(dataset).__name__} (or the datasets it wraps)')
        if not any(
                _has_sampled_size_transform(
                    getattr(t.pipeline, 'transforms', None)) for t in targets):
            raise ValueError(
                'MultiScaleDataset: the pipeline has no '
                'mmvit.SampledSizeTransform, so the sampled sizes would be '
                "ignored; wrap the resize/crop as dict(type='mmvit."
                "SampledSizeTransform', transform=..., size_arg=..., "
                'size_order=...)')
        for target in targets:
            if not isinstance(target.pipeline, _SizedPipeline):
                target.pipeline = _SizedPipeline(target.pipeline, self._slot)
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        return getattr(self.dataset, 'metainfo', {})

    def full_init(self) -> None:
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()

    def get_data_info(self, idx: int) -> dict:
        return self.dataset.get_data_info(idx)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item: Union[int, Tuple[int, int, int]]) -> Any:
        if not isinstance(item, tuple):
            return self.dataset[item]
        if len(item) != 3:
            raise ValueError('MultiScaleDataset expects an int index or a '
                             f'(height, width, index) tuple, got {item!r}')
        height, width, index = item
        self._slot.size = (int(height), int(width))
        try:
            return self.dataset[index]
        finally:
            self._slot.size = None

    def __getattr__(self, name: str) -> Any:
        # Forward what wrappers usually expose (CLASSES, get_cat_ids, ...).
        # ``dataset`` is looked up via __dict__ so unpickling cannot recurse.
        if name == 'dataset' or 'dataset' not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__['dataset'], name)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(dataset={self.dataset!r})'
