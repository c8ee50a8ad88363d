"""DDP with mmengine's default ``find_unused_parameters=False`` (issue 14):
a MobileViT that returns stages 2 and 3 only trains in 2 gloo processes.
Stage 4 is built (checkpoints keep their keys) but frozen; were it
trainable, it would get no gradient and DDP would stop at the second
iteration, which the control case shows.

Also the torchrun entry point of the test::

    torchrun --nproc_per_node 2 test_ddp_unused.py RESULT_DIR [--train-unused]
"""
import argparse
import datetime
import json
import os
import os.path as osp
import signal
import subprocess
import sys

import pytest
import torch

pytestmark = pytest.mark.slow

TIMEOUT_S = 150


def train_two_iterations(result_dir: str, train_unused: bool) -> None:
    """One rank: MobileViT-XXS (out_indices 2, 3) under mmengine's DDP
    wrapper, two SGD steps; writes what happened to ``rank<N>.json``."""
    import torch.distributed as dist
    from mmengine.model import MMDistributedDataParallel

    from mmvit.models import MobileViT

    # a collective that waits longer fails instead of hanging the test
    dist.init_process_group('gloo', timeout=datetime.timedelta(seconds=60))
    rank, world_size = dist.get_rank(), dist.get_world_size()
    result = dict(rank=rank, iters=0, error=None)
    try:
        torch.manual_seed(0)  # the same initial weights on both ranks
        model = MobileViT('xx_small', out_indices=(2, 3))
        if train_unused:  # the behaviour before the fix
            model.layer5.requires_grad_(True)
        ddp = MMDistributedDataParallel(
            module=model, device_ids=None, find_unused_parameters=False)
        optimizer = torch.optim.SGD(ddp.parameters(), lr=0.01)
        generator = torch.Generator().manual_seed(rank)
        for _ in range(2):
            outs = ddp(torch.rand(2, 3, 64, 64, generator=generator))
            loss = sum(out.mean() for out in outs)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            result['iters'] += 1
        # DDP averaged the gradients: the ranks' weights are still equal
        weights = torch.cat([p.detach().flatten() for p in model.parameters()])
        gathered = [torch.empty_like(weights) for _ in range(world_size)]
        dist.all_gather(gathered, weights)
        result['same_weights'] = all(
            torch.equal(gathered[0], w) for w in gathered)
    except RuntimeError as error:
        result['error'] = str(error)
    with open(osp.join(result_dir, f'rank{rank}.json'), 'w') as f:
        json.dump(result, f)
    # every collective is done; leave without gloo's teardown, which hangs
    # now and then when the workers' output goes to a pipe (seen under
    # pytest: both result files written, both workers stuck at exit)
    sys.stdout.flush()
    os._exit(0)


def _run(tmp_path, train_unused: bool):
    cmd = [
        sys.executable, '-m', 'torch.distributed.run', '--standalone',
        '--nproc_per_node', '2',
        osp.abspath(__file__),
        str(tmp_path)
    ] + (['--train-unused'] if train_unused else [])
    proc = subprocess.Popen(
        cmd,
        env=dict(os.environ, OMP_NUM_THREADS='1'),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # torchrun
        # its workers may sit in a process group of their own
        subprocess.run(['pkill', '-9', '-f', str(tmp_path)], check=False)
        output, _ = proc.communicate(timeout=30)
        pytest.fail(f'2-process run did not finish (hang?):\n{output[-4000:]}')
    assert proc.returncode == 0, output[-4000:]
    return [
        json.load(open(tmp_path / f'rank{rank}.json')) for rank in range(2)
    ]


def test_two_gloo_processes_train_without_unused_parameters(tmp_path):
    results = _run(tmp_path, train_unused=False)
    for result in results:
        assert result['error'] is None, result['error']
        assert result['iters'] == 2
        assert result['same_weights']


def test_control_trainable_unused_stage_stops_ddp(tmp_path):
    results = _run(tmp_path, train_unused=True)
    for result in results:
        assert result['iters'] == 1  # the second forward refuses
        assert 'find_unused_parameters' in result['error']


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('result_dir')
    parser.add_argument('--train-unused', action='store_true')
    args = parser.parse_args()
    train_two_iterations(args.result_dir, args.train_unused)
