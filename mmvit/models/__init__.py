"""mmvit models. The backbone needs only mmcv/mmengine; the heads need their
toolbox (mmpretrain, mmdet, mmseg) and are imported when it is installed."""
import importlib
import importlib.util

from . import backbones, layers
from .backbones import MobileViT, MobileViTv2

# sub-package -> the toolbox it builds on
_OPTIONAL = {
    'heads': 'mmpretrain',
    'necks': 'mmdet',
    'task_modules': 'mmdet',
    'dense_heads': 'mmdet',
    'decode_heads': 'mmseg',
    'segmentors': 'mmseg',
}
for _name, _toolbox in _OPTIONAL.items():
    if (importlib.util.find_spec(_toolbox) is not None
            and importlib.util.find_spec(f'{__name__}.{_name}') is not None):
        importlib.import_module(f'.{_name}', __name__)

__all__ = ['backbones', 'layers', 'MobileViT', 'MobileViTv2']
