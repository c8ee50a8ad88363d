"""The runtime fixes of mmvit.compat, exercised through the real stack."""
import pickle
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner, load_checkpoint

import mmvit.models  # noqa: F401  (installs the checkpoint loader)
from mmvit.compat import load_local_checkpoint


class _Regressor(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return dict(loss=self.fc(torch.stack(inputs)).pow(2).mean())


class _Points(torch.utils.data.Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, index):
        return dict(inputs=torch.full((2, ), float(index)))


def _runner(work_dir, max_epochs, resume):
    return Runner(
        model=_Regressor(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=_Points(),
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=2,
            collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        custom_hooks=[dict(type='EMAHook')],
        resume=resume)


def test_resume_with_safe_loading(tmp_path):
    _runner(tmp_path, 2, False).train()
    resumed = _runner(tmp_path, 3, True)
    resumed.train()
    assert resumed.iter == 12 and resumed.epoch == 3
    state = load_local_checkpoint(str(tmp_path / 'epoch_3.pth'))
    assert state['meta']['epoch'] == 3
    # plain weights load through mmengine's loader as well
    load_checkpoint(_Regressor(), str(tmp_path / 'epoch_3.pth'))


def test_unsafe_checkpoint_refused_with_a_clear_message(tmp_path):

    class Evil:

        def __reduce__(self):
            return (print, ('pwned', ))

    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'x': Evil()}}, path)
    with pytest.raises(pickle.UnpicklingError,
                       match='MMVIT_UNSAFE_CHECKPOINTS=1'):
        load_local_checkpoint(str(path))
    with pytest.raises(FileNotFoundError, match='checkpoint not found'):
        load_local_checkpoint(str(tmp_path / 'missing.pth'))


def test_toolboxes_import_beside_the_cpu_torch():
    """PyPI's torchvision (a CUDA build) imports, and so does everything that
    imports it (mmpretrain, hence mmdet), in a fresh interpreter."""
    code = ('import mmvit, torchvision, mmpretrain.models, mmdet.models, '
            'mmseg.models, mmcv.ops; '
            'print(torchvision.ops.box_iou(torch.ones(1, 4) * '
            'torch.tensor([0, 0, 1, 1]), torch.tensor([[0., 0, 1, 1]])))')
    code = 'import torch; ' + code
    result = subprocess.run([sys.executable, '-c', code],
                            capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'tensor([[1.]])' in result.stdout
