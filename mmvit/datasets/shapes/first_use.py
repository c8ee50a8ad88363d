"""Data generated on first use: :func:`ensure_generated` writes a set once,
safely under several processes, and :class:`GeneratedOnFirstUse` lets a
toolbox dataset call it before it reads its annotation file."""
import os
import os.path as osp
import shutil
import tempfile
from typing import Callable, List, Optional, Tuple


def ensure_generated(root: str, marker: str, generate: Callable[..., None],
                     **kwargs) -> bool:
    """Run ``generate(root, **kwargs)`` unless ``root/marker`` exists.

    Safe when several processes (e.g. distributed ranks) call it at once:
    each writes to a private directory and the first to finish renames it to
    ``root``.

    Returns:
        bool: True if this call generated the data.
    """
    marker = osp.join(root, marker)
    if osp.exists(marker):
        return False
    if osp.exists(root) and os.listdir(root):
        raise FileExistsError(
            f'{root} exists but has no {marker}; remove it or generate the '
            f'data with tools/dataset_converters/generate_shapes.py')
    parent = osp.dirname(osp.abspath(root))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.shapes-', dir=parent)
    try:
        generate(tmp, **kwargs)
        try:
            os.rename(tmp, root)  # atomic; replaces an empty directory
        except OSError:
            if not osp.exists(marker):
                raise
            return False  # another process finished first
    finally:
        if osp.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return True


class GeneratedOnFirstUse:
    """Mixin for datasets over the shapes data: before the annotation file
    is read, generate the data under ``data_root`` if it is missing.

    Put it before the toolbox's dataset class and set :attr:`ENSURE` (the
    set's ``ensure_*`` function, as a ``staticmethod``) and
    :attr:`NUM_IMAGES` (its default train and val sizes).

    Args:
        generate (bool): Generate the data if missing. Defaults to True.
        num_train (int, optional): Training images to generate. Defaults to
            ``NUM_IMAGES[0]``.
        num_val (int, optional): Validation images to generate. Defaults to
            ``NUM_IMAGES[1]``.
        seed (int): Generation seed. Defaults to 0.
        **kwargs: the toolbox dataset's arguments (``data_root``,
            ``ann_file``, ``data_prefix``, ``pipeline``, ...).
    """
    ENSURE: Callable[..., bool]
    NUM_IMAGES: Tuple[int, int]

    def __init__(self,
                 *,
                 generate: bool = True,
                 num_train: Optional[int] = None,
                 num_val: Optional[int] = None,
                 seed: int = 0,
                 **kwargs) -> None:
        self.generate = generate
        self.generate_kwargs = dict(
            num_train=self.NUM_IMAGES[0] if num_train is None else num_train,
            num_val=self.NUM_IMAGES[1] if num_val is None else num_val,
            seed=seed)
        super().__init__(**kwargs)

    def load_data_list(self) -> List[dict]:
        """Generate the data with ``ENSURE(root, **generate_kwargs)`` unless
        ``ann_file`` exists, then load it as the toolbox does."""
        if not self.ann_file:
            raise ValueError(f'{type(self).__name__} needs `ann_file`')
        if not osp.isfile(self.ann_file):
            if not self.generate:
                raise FileNotFoundError(
                    f'{self.ann_file} not found; generate the data with '
                    'tools/dataset_converters/generate_shapes.py or set '
                    'generate=True')
            root = self.data_root or osp.dirname(
                osp.dirname(osp.abspath(self.ann_file)))
            self.ENSURE(root, **self.generate_kwargs)
        return super().load_data_list()
