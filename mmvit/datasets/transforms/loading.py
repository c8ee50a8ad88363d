"""An image loader that names the file of every image it cannot use."""
import io
import logging
from typing import Optional

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import LoadImageFromFile
from PIL import Image

from mmvit.registry import TRANSFORMS
from ..validation import Reporter, jpeg_is_complete

# PIL modes that carry an alpha channel ('PA': a palette with transparency).
_ALPHA_MODES = {'RGBA', 'RGBa', 'LA', 'La', 'PA'}
_MODE_NAMES = {
    '1': 'black-and-white',
    'L': 'greyscale',
    'P': 'palette',
    'I': '32-bit greyscale',
    'I;16': '16-bit greyscale',
    'I;16B': '16-bit greyscale',
    'F': 'floating-point greyscale',
    'CMYK': 'CMYK',
}


def image_mode(content: bytes) -> Optional[str]:
    """The PIL mode of the encoded image ``content`` (``'RGB'``, ``'L'``,
    ``'RGBA'``, ..., ``'PA'`` for a palette with transparency) read from its
    header only, or ``None`` if PIL does not know the format."""
    try:
        with Image.open(io.BytesIO(content)) as img:
            if img.mode == 'P' and 'transparency' in img.info:
                return 'PA'
            return img.mode
    except Exception:  # PIL raises many types for unknown data
        return None


def describe_sample(results: dict) -> str:
    """The image file of ``results``, with its image id where it has one."""
    where = str(results['img_path'])
    if results.get('img_id') is not None:
        where += f' (image id {results["img_id"]})'
    return where


@TRANSFORMS.register_module()
class LoadImageFromFileChecked(LoadImageFromFile):
    """mmcv's :class:`~mmcv.transforms.LoadImageFromFile` that names the
    file of every image it cannot use, and says what it converts.

    What mmcv's loader does with a bad file, and what this one does:

    - missing file: the backend's ``FileNotFoundError`` -> the same error,
      naming the image (and its image id);
    - empty (0-byte) file: OpenCV's ``!buf.empty()`` assertion, which names
      nothing -> ``OSError`` naming the file;
    - truncated JPEG: decoded without an error, the missing rows grey ->
      ``OSError`` naming the file;
    - undecodable data: ``AssertionError`` naming the file -> ``OSError``
      naming the file;
    - greyscale, palette, CMYK or 16-bit images: converted to 8-bit BGR
      (``color_type='color'``) -> the same, with a note (``INFO``);
    - an alpha channel: dropped silently -> dropped, with a ``WARNING``;
    - a side under ``min_size`` or an aspect ratio over
      ``max_aspect_ratio``: loaded -> loaded, with a note (``INFO``).

    With ``ignore_empty=True`` (mmcv's switch) an image that cannot be used
    is skipped with a warning instead: the transform returns ``None``, so a
    training dataset draws another sample; a test-mode dataset stops.
    Warnings and notes are logged once per file and at most
    ``report_limit`` per kind and process (see
    :class:`mmvit.datasets.validation.Reporter`).

    Args:
        to_float32 (bool): Return a float32 image. Defaults to False.
        color_type (str): ``flag`` of :func:`mmcv.imfrombytes`.
            Defaults to ``'color'``.
        imdecode_backend (str): Decoding backend of
            :func:`mmcv.imfrombytes`. Defaults to ``'cv2'``.
        ignore_empty (bool): Skip unusable images (return ``None``) instead
            of raising. Defaults to False.
        min_size (int, optional): Images with a side shorter than this many
            pixels get a note; ``None`` turns it off. Defaults to 32.
        max_aspect_ratio (float, optional): Images whose long side exceeds
            this multiple of the short side get a note; ``None`` turns it
            off. Defaults to 5.
        report_limit (int): Warnings / notes of one kind logged per process.
            Defaults to 10.
        backend_args (dict, optional): File backend arguments of
            :func:`mmengine.fileio.get`. Defaults to None.
    """

    def __init__(self,
                 to_float32: bool = False,
                 color_type: str = 'color',
                 imdecode_backend: str = 'cv2',
                 ignore_empty: bool = False,
                 min_size: Optional[int] = 32,
                 max_aspect_ratio: Optional[float] = 5.,
                 report_limit: int = 10,
                 *,
                 backend_args: Optional[dict] = None) -> None:
        super().__init__(
            to_float32=to_float32,
            color_type=color_type,
            imdecode_backend=imdecode_backend,
            ignore_empty=ignore_empty,
            backend_args=backend_args)
        if min_size is not None and min_size < 1:
            raise ValueError(f'min_size must be >= 1 or None, got {min_size}')
        if max_aspect_ratio is not None and max_aspect_ratio < 1:
            raise ValueError('max_aspect_ratio must be >= 1 or None, got '
                             f'{max_aspect_ratio}')
        self.min_size = min_size
        self.max_aspect_ratio = max_aspect_ratio
        self.report = Reporter(report_limit)

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']`` into ``results['img']`` (and set
        ``img_shape`` / ``ori_shape``), or raise / skip naming the file."""
        filename = results['img_path']
        where = describe_sample(results)
        try:
            content = fileio.get(filename, backend_args=self.backend_args)
        except FileNotFoundError as error:
            return self._fail(
                FileNotFoundError(f'image file not found: {where}'), error)
        except Exception as error:
            return self._fail(
                OSError(f'cannot read image file {where}: {error}'), error)
        if len(content) == 0:
            return self._fail(
                OSError(f'image file is empty (0 bytes): {where}'))
        if content[:2] == b'\xff\xd8' and not jpeg_is_complete(content):
            return self._fail(
                OSError(f'truncated JPEG file (it ends before its '
                        f'end-of-image marker; an interrupted download or '
                        f'copy?): {where}'))
        try:
            img = mmcv.imfrombytes(
                content, flag=self.color_type, backend=self.imdecode_backend)
        except Exception as error:
            return self._fail(
                OSError(f'cannot decode image file {where}: {error}'), error)
        if img is None or img.size == 0:
            return self._fail(
                OSError(f'cannot decode image file {where}: not an image, or '
                        f'a format the {self.imdecode_backend!r} backend '
                        'cannot read'))
        self._note(content, img, str(filename), where)
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def _fail(self,
              error: Exception,
              cause: Optional[Exception] = None) -> None:
        """Raise ``error`` or, with ``ignore_empty``, warn and skip."""
        if not self.ignore_empty:
            raise error from cause
        self.report('skipped', str(error), f'{error} (skipped: ignore_empty)')
        return None

    def _note(self, content: bytes, img: np.ndarray, key: str,
              where: str) -> None:
        """Tell what the decoding converted and an unusual size."""
        if self.color_type in ('color', 'color_ignore_orientation'):
            mode = image_mode(content)
            if mode in _ALPHA_MODES:
                self.report(
                    'alpha channel dropped', key,
                    f'{where}: image with an alpha channel (PIL mode {mode}):'
                    ' the alpha channel is dropped, the colours under '
                    'transparent pixels are used as they are')
            elif mode is not None and mode not in ('RGB', 'RGBX', 'YCbCr'):
                name = _MODE_NAMES.get(mode, mode)
                self.report(
                    'converted to BGR',
                    key,
                    f'{where}: {name} image (PIL mode {mode}) converted to '
                    '8-bit 3-channel BGR',
                    level=logging.INFO)
        height, width = img.shape[:2]
        short, long = min(height, width), max(height, width)
        small = self.min_size is not None and short < self.min_size
        elongated = (
            self.max_aspect_ratio is not None
            and long > self.max_aspect_ratio * short)
        if small or elongated:
            why = [f'a side under {self.min_size} px'] if small else []
            if elongated:
                why.append(f'an aspect ratio over {self.max_aspect_ratio:g}:1')
            self.report(
                'unusual size',
                key, f'{where}: unusual image size {width}x{height} (width x '
                f"height; {' and '.join(why)}); it is used as it is",
                level=logging.INFO)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(to_float32={self.to_float32}, '
                f'color_type={self.color_type!r}, '
                f'imdecode_backend={self.imdecode_backend!r}, '
                f'ignore_empty={self.ignore_empty}, '
                f'min_size={self.min_size}, '
                f'max_aspect_ratio={self.max_aspect_ratio}, '
                f'backend_args={self.backend_args})')
