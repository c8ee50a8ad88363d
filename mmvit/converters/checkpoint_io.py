"""Reading a checkpoint file as a plain state dict, without running pickled
code (``torch.load(weights_only=True)`` or safetensors)."""
import os.path as osp
from typing import Dict

import torch

__all__ = ['load_state_dict']

# files a hub folder (HF / timm) keeps its weights in, in order of preference
_HUB_FILES = ('model.safetensors', 'pytorch_model.bin', 'pytorch_model.pth')
# the entries training frameworks wrap a state dict in
_WRAPPERS = ('state_dict', 'model_state_dict', 'model')


def load_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """The state dict in ``path`` (a ``.pt`` / ``.pth`` / ``.safetensors``
    file or a hub folder), unwrapped from ``state_dict`` /
    ``model_state_dict`` / ``model``; clear errors for a missing file or a
    file that holds no state dict."""
    if osp.isdir(path):
        for name in _HUB_FILES:
            if osp.isfile(osp.join(path, name)):
                path = osp.join(path, name)
                break
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return load_file(path, device='cpu')
    checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    if not isinstance(checkpoint, dict):
        raise ValueError(f'{path} holds a {type(checkpoint).__name__}, not a '
                         'state dict')
    for wrapper in _WRAPPERS:
        if isinstance(checkpoint.get(wrapper), dict):
            checkpoint = checkpoint[wrapper]
            break
    not_tensors = [k for k, v in checkpoint.items() if not torch.is_tensor(v)]
    if not_tensors:
        raise ValueError(f'{path} is not a state dict: {not_tensors[:5]} are '
                         'not tensors')
    return checkpoint
