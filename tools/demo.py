"""The embedded demo: the paper's route in miniature, on generated data.

    python tools/demo.py [--with-peer] [--deploy [RUNTIME ...]] [--quick]
        [--seed N]

No dataset and no download. Every stage is a plain toolbox command, printed
as it starts, which a user can also run alone:

1. pretrain MobileViT-XXS on the generated shapes classification set
   (mmpretrain ``ImageClassifier``, the multi-scale variable-batch sampler);
2. fine-tune SSDLite-MobileViT-XXS (mmdet, ``CocoMetric``) and
   DeepLabv3-MobileViT-XXS (mmseg, ``IoUMetric``) from its checkpoint
   (``init_cfg=dict(type='Pretrained', prefix='backbone.')``), the two at
   once, one process per CPU core;
3. draw the predictions on 8 val images (``tools/test.py --show-dir``) and
   one learning curve per stage (loss and val metric against iteration);
4. with ``--deploy``: export the trained detector and segmenter in INT8
   to onnxruntime, OpenVINO and ExecuTorch (``tools/deployment/deploy.py``,
   calibrated on 64 training images) and score each file on the val split
   with the config's own metric (``tools/deployment/test.py``);
5. print one summary table (task, model, metric, wall time).

``--with-peer`` also runs mmdet's SSDLite-MobileNetV2 through the same two
stages (pretrained on the same set, same data, input size and schedule).
``--quick`` shortens every stage to a few iterations on a few images (the
path CI keeps working); its metrics mean nothing.
"""
import argparse
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(REPO_ROOT, 'configs')


class Stage:
    """One training run of the demo and how to read its result.

    Args:
        name (str): Short name (also the work-dir and picture folder name).
        task (str): ``classification``, ``detection`` or ``segmentation``.
        model (str): The model, for the summary table.
        config (str): Config path, relative to the repository.
        metrics (Sequence[str]): Keys of the final val record to report;
            the first is the stage's main metric.
        pretrain (str, optional): Name of the stage whose checkpoint
            initialises this one's backbone.
        quick (Sequence[str]): ``--cfg-options`` of ``--quick``.
    """

    def __init__(self,
                 name: str,
                 task: str,
                 model: str,
                 config: str,
                 metrics: Sequence[str],
                 pretrain: Optional[str] = None,
                 quick: Sequence[str] = ()) -> None:
        self.name = name
        self.task = task
        self.model = model
        self.config = config
        self.metrics = tuple(metrics)
        self.pretrain = pretrain
        self.quick = list(quick)


def _data_root(keys: Sequence[str], root: str) -> List[str]:
    return [f'{key}.data_root={root}' for key in keys]


# the data: (generate_shapes.py arguments, --quick ones)
DETECTION_DATA = (['data/shapes', '--num-train', '2400', '--num-val', '200'],
                  ['data/shapes_quick', '--num-train', '16', '--num-val', '8'])
CLASSIFICATION_DATA = ([
    'data/shapes_cls', '--classification', '--num-train', '4800',
    '--num-val', '400'
], [
    'data/shapes_cls_quick', '--classification', '--num-train', '48',
    '--num-val', '16'
])
# the demo's detection and segmentation images are 256x256
DEPLOY_SHAPE = ('256', '256')
DEPLOY_RUNTIMES = dict(onnxruntime='.onnx', openvino='.xml', executorch='.pte')
_LOADERS = ('train_dataloader.dataset', 'val_dataloader.dataset',
            'test_dataloader.dataset')
_QUICK_RUN = [
    'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
    'default_hooks.checkpoint.interval=1',
    'default_hooks.logger.interval=1', 'param_scheduler.0.end=2',
    'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
    'test_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.persistent_workers=False',
    'test_dataloader.persistent_workers=False'
]
_QUICK_DETECTION = _QUICK_RUN + _data_root(
    _LOADERS, 'data/shapes_quick') + [
        'train_dataloader.batch_size=4',
        'val_evaluator.ann_file=data/shapes_quick/annotations/'
        'instances_val.json',
        'test_evaluator.ann_file=data/shapes_quick/annotations/'
        'instances_val.json'
    ]
_QUICK_CLASSIFICATION = _QUICK_RUN + _data_root(
    ('train_dataloader.dataset.dataset', 'val_dataloader.dataset',
     'test_dataloader.dataset'),
    'data/shapes_cls_quick') + ['train_dataloader.batch_size=8']

PRETRAIN = Stage(
    'pretrain',
    'classification',
    'MobileViT-XXS',
    'configs/mobilevit/mobilevit-xxsmall_1xb32_shapes.py', ['accuracy/top1'],
    quick=_QUICK_CLASSIFICATION)
DETECTION = Stage(
    'detection',
    'detection',
    'SSDLite-MobileViT-XXS',
    'configs/ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py',
    ['coco/bbox_mAP', 'coco/bbox_mAP_50'],
    pretrain='pretrain',
    quick=_QUICK_DETECTION)
SEGMENTATION = Stage(
    'segmentation',
    'segmentation',
    'DeepLabv3-MobileViT-XXS',
    'configs/deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_1xb8-2e_shapes-256x256.py',
    ['mIoU', 'aAcc'],
    pretrain='pretrain',
    quick=_QUICK_RUN + _data_root(_LOADERS, 'data/shapes_quick') +
    ['train_dataloader.batch_size=4'])
PEER_PRETRAIN = Stage(
    'peer_pretrain',
    'classification',
    'MobileNetV2 (mmpretrain)',
    'configs/peers/mobilenet-v2_1xb32_shapes.py', ['accuracy/top1'],
    quick=_QUICK_CLASSIFICATION)
PEER_DETECTION = Stage(
    'peer_detection',
    'detection',
    'SSDLite-MobileNetV2 (mmdet)',
    'configs/peers/ssdlite_mobilenetv2_shapes.py',
    ['coco/bbox_mAP', 'coco/bbox_mAP_50'],
    pretrain='peer_pretrain',
    quick=_QUICK_DETECTION)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--work-dir',
        default='work_dirs/demo',
        help='where every stage writes (default work_dirs/demo)')
    parser.add_argument(
        '--with-peer',
        action='store_true',
        help="also run mmdet's SSDLite-MobileNetV2 on the same data/budget")
    parser.add_argument(
        '--quick',
        action='store_true',
        help='a few iterations per stage (checks the path, not the models)')
    parser.add_argument(
        '--deploy',
        nargs='*',
        choices=list(DEPLOY_RUNTIMES),
        help='export the trained detector and segmenter in INT8 to these '
        'runtimes (all without a name) and score them')
    parser.add_argument(
        '--seed', type=int, default=None, help='randomness.seed of every run')
    parser.add_argument(
        '--num-pictures',
        type=int,
        default=8,
        help='val images drawn with predictions per task (default 8)')
    return parser.parse_args(argv)


def _threads_per_run(parallel: int) -> int:
    return max(1, (os.cpu_count() or 1) // parallel)


class Demo:

    def __init__(self, args) -> None:
        self.args = args
        self.root = osp.abspath(args.work_dir)
        self.python = sys.executable
        self.results: Dict[str, dict] = {}

    # ------------------------------------------------------------ running
    def _work_dir(self, stage: Stage) -> str:
        return osp.join(self.root, stage.name)

    def _train_cmd(self, stage: Stage) -> List[str]:
        options = list(stage.quick) if self.args.quick else []
        if self.args.seed is not None:
            options.append(f'randomness.seed={self.args.seed}')
        if stage.pretrain is not None:
            checkpoint = self.results[stage.pretrain]['checkpoint']
            options.append(f'model.backbone.init_cfg.checkpoint={checkpoint}')
        cmd = [
            self.python,
            osp.join(REPO_ROOT, 'tools', 'train.py'),
            osp.join(REPO_ROOT, stage.config), '--work-dir',
            self._work_dir(stage)
        ]
        return cmd + (['--cfg-options'] + options if options else [])

    def _start(self, stage: Stage, cmd: List[str], log_name: str,
               threads: int) -> subprocess.Popen:
        os.makedirs(self._work_dir(stage), exist_ok=True)
        log = open(osp.join(self._work_dir(stage), log_name), 'w')
        print('$ ' + ' '.join(_short(c) for c in cmd), flush=True)
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        proc = subprocess.Popen(
            cmd, cwd=os.getcwd(), env=env, stdout=log,
            stderr=subprocess.STDOUT)
        proc.log = log  # closed in _wait
        return proc

    def _wait(self, stage: Stage, proc: subprocess.Popen) -> None:
        returncode = proc.wait()
        proc.log.close()
        if returncode != 0:
            with open(proc.log.name) as f:
                tail = f.read()[-4000:]
            raise RuntimeError(f'stage {stage.name} failed (exit code '
                               f'{returncode}); the end of its log '
                               f'{proc.log.name}:\n{tail}')

    def generate_data(self) -> None:
        """Write both generated sets (unless present), one process each."""
        script = osp.join(REPO_ROOT, 'tools', 'dataset_converters',
                          'generate_shapes.py')
        procs, start = [], time.time()
        for name, (full, quick) in (('data_detection', DETECTION_DATA),
                                    ('data_classification',
                                     CLASSIFICATION_DATA)):
            stage = Stage(name, 'data', '', '', [''])
            cmd = [self.python, script] + (quick if self.args.quick else
                                           full) + ['--if-missing']
            procs.append((stage, self._start(stage, cmd, 'generate.log', 1)))
        for stage, proc in procs:
            self._wait(stage, proc)
        self.data_wall = time.time() - start

    def train(self, stages: Sequence[Stage]) -> None:
        """Train ``stages`` at once, one process per share of the cores; as
        soon as one ends, draw its predictions (on the core it freed)."""
        threads = _threads_per_run(len(stages))
        start = time.time()
        running = {
            stage.name: (stage,
                         self._start(stage, self._train_cmd(stage),
                                     'train.log', threads))
            for stage in stages
        }
        drawing = []
        while running:
            time.sleep(1)
            for name, (stage, proc) in list(running.items()):
                if proc.poll() is None:
                    continue
                del running[name]
                self._wait(stage, proc)
                result = self._read_result(stage)
                result['wall'] = time.time() - start
                self.results[name] = result
                if stage.task != 'classification':
                    drawing.append((stage, self._start_drawing(stage)))
        for stage, proc in drawing:
            self._wait(stage, proc)
            self.results[stage.name]['pictures'] = sorted(
                glob.glob(
                    osp.join(self._pictures(stage), '**', '*.*g'),
                    recursive=True))

    def _pictures(self, stage: Stage) -> str:
        return osp.join(self.root, 'pictures', stage.name)

    def _start_drawing(self, stage: Stage) -> subprocess.Popen:
        """Predictions on the first val images, through tools/test.py."""
        out_dir = self._pictures(stage)
        shutil.rmtree(out_dir, ignore_errors=True)
        cmd = [
            self.python,
            osp.join(REPO_ROOT, 'tools', 'test.py'),
            osp.join(REPO_ROOT, stage.config),
            self.results[stage.name]['checkpoint'], '--work-dir',
            osp.join(self._work_dir(stage), 'test'), '--show-dir', out_dir,
            '--cfg-options',
            f'test_dataloader.dataset.indices={self.args.num_pictures}'
        ]
        if stage.task == 'segmentation':  # mmseg draws every 50th by default
            cmd.append('default_hooks.visualization.interval=1')
        if self.args.quick:
            cmd += [o for o in stage.quick if o.startswith('test_')]
        return self._start(stage, cmd, 'test.log', 1)

    def deploy(self, stages: Sequence[Stage], names: Sequence[str]) -> None:
        """Each stage's trained model to each runtime in INT8, then scored
        with its config's metric; the stages at once, one per core."""
        threads = _threads_per_run(len(stages))
        chains = {}
        for stage in stages:
            options = list(stage.quick) if self.args.quick else []
            options = ['--cfg-options'] + options if options else []
            config = osp.join(REPO_ROOT, stage.config)
            chain = []
            for runtime in names:
                out = osp.join(self._work_dir(stage), 'deploy',
                               f'int8{DEPLOY_RUNTIMES[runtime]}')
                chain.append((runtime, [
                    self.python,
                    osp.join(REPO_ROOT, 'tools', 'deployment', 'deploy.py'),
                    config, self.results[stage.name]['checkpoint'],
                    '--runtime', runtime, '--precision', 'int8', '--calib',
                    '8' if self.args.quick else '64', '--shape',
                    *DEPLOY_SHAPE, '--out', out
                ] + options, [
                    self.python,
                    osp.join(REPO_ROOT, 'tools', 'deployment', 'test.py'),
                    config, out, '--out', out + '.json'
                ] + options))
            chains[stage.name] = (stage, chain)
            self.results[stage.name]['deploy'] = {}
        start = time.time()
        while any(chain for _, chain in chains.values()):
            procs = []
            for stage, chain in chains.values():
                if chain:
                    runtime, export, test = chain.pop(0)
                    procs.append((stage, runtime, test,
                                  self._start(stage, export,
                                              f'deploy_{runtime}.log',
                                              threads)))
            for stage, runtime, test, proc in procs:
                self._wait(stage, proc)
                self._wait(stage,
                           self._start(stage, test, f'test_{runtime}.log',
                                       threads))
                with open(test[test.index('--out') + 1]) as f:
                    metrics = json.load(f)
                self.results[stage.name]['deploy'][runtime] = dict(
                    metrics={k: metrics.get(k)
                             for k in stage.metrics},
                    wall=time.time() - start)

    # ------------------------------------------------------------ reading
    def _read_result(self, stage: Stage) -> dict:
        work_dir = self._work_dir(stage)
        with open(osp.join(work_dir, 'last_checkpoint')) as f:
            checkpoint = f.read().strip()
        scalars = _latest_scalars(work_dir)
        records = [json.loads(line) for line in open(scalars)]
        val = [r for r in records if stage.metrics[0] in r]
        if not val:
            raise RuntimeError(f'stage {stage.name}: no {stage.metrics[0]} '
                               f'in {scalars}')
        result = dict(
            checkpoint=checkpoint,
            scalars=scalars,
            metrics={k: val[-1].get(k)
                     for k in stage.metrics},
            iterations=_trained_iterations(checkpoint))
        if stage.task == 'segmentation':
            # the run's log: <work_dir>/<timestamp>/<timestamp>.log
            result['class_iou'] = _class_iou(
                osp.dirname(osp.dirname(scalars)))
        result['curve'] = plot_curve(
            records, stage, osp.join(self.root, 'curves', f'{stage.name}.png'))
        return result

    # ------------------------------------------------------------ report
    def summary(self, stages: Sequence[Stage]) -> str:
        rows = [('task', 'model', 'metric', 'iterations', 'wall time'),
                ('data', 'generated shapes sets', '', '',
                 f'{self.data_wall / 60:.1f} min')]
        for stage in stages:
            result = self.results[stage.name]
            metrics = ', '.join(f'{k} {_fmt(v)}'
                                for k, v in result['metrics'].items())
            if result.get('class_iou'):
                metrics += ' (IoU ' + ', '.join(
                    f'{c} {v:.1f}'
                    for c, v in result['class_iou'].items()) + ')'
            rows.append((stage.task, stage.model, metrics,
                         str(result['iterations']),
                         f'{result["wall"] / 60:.1f} min'))
            for runtime, deployed in result.get('deploy', {}).items():
                rows.append((stage.task, f'{stage.model} {runtime} INT8',
                             ', '.join(f'{k} {_fmt(v)}' for k, v in
                                       deployed['metrics'].items()), '',
                             f'{deployed["wall"] / 60:.1f} min'))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = [
            ' | '.join(c.ljust(w) for c, w in zip(row, widths))
            for row in rows
        ]
        lines.insert(1, '-+-'.join('-' * w for w in widths))
        return '\n'.join(lines)


def _short(arg: str) -> str:
    """Paths inside the repository relative to it, for the printed
    commands."""
    if arg == sys.executable:
        return 'python'
    if osp.isabs(arg) and arg.startswith(REPO_ROOT + os.sep):
        return osp.relpath(arg, REPO_ROOT)
    return arg


def _fmt(value) -> str:
    return f'{value:.3f}' if isinstance(value, float) else str(value)


def _trained_iterations(checkpoint: str) -> int:
    """The iteration count a checkpoint was saved at (its ``meta``)."""
    from mmvit.compat import load_local_checkpoint
    return int(load_local_checkpoint(checkpoint)['meta']['iter'])


def _latest_scalars(work_dir: str) -> str:
    found = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    if not found:
        raise RuntimeError(f'no scalars.json under {work_dir}')
    return found[-1]


def _class_iou(run_dir: str) -> Dict[str, float]:
    """Per-class IoU from the last table mmseg's IoUMetric logged."""
    logs = glob.glob(osp.join(run_dir, '*.log'))
    if not logs:
        return {}
    table: Dict[str, float] = {}
    with open(logs[0]) as f:
        for line in f:
            if 'per class results' in line:
                table = {}
            cells = [c.strip() for c in line.strip().strip('|').split('|')]
            if (len(cells) >= 3 and line.lstrip().startswith('|')
                    and cells[0] not in ('Class', '')):
                try:
                    table[cells[0]] = float(cells[1])
                except ValueError:
                    pass
    return table


def plot_curve(records: List[dict], stage: Stage, path: str) -> str:
    """Training loss and val metric against iteration, from mmengine's
    ``scalars.json`` records, as a PNG at ``path``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    train = [r for r in records if 'loss' in r and 'iter' in r]
    val = [r for r in records if stage.metrics[0] in r]
    fig, loss_ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    loss_ax.plot([r['iter'] for r in train], [r['loss'] for r in train],
                 color='tab:blue', lw=1)
    loss_ax.set_xlabel('iteration')
    loss_ax.set_ylabel('training loss', color='tab:blue')
    metric_ax = loss_ax.twinx()
    # val records carry the epoch as 'step': place them at the end of it
    per_epoch = max((r['iter'] for r in train), default=0) / max(
        max((r.get('step', 1) for r in val), default=1), 1)
    metric_ax.plot([r.get('step', 1) * per_epoch for r in val],
                   [r[stage.metrics[0]] for r in val],
                   'o-',
                   color='tab:red')
    metric_ax.set_ylabel(f'val {stage.metrics[0]}', color='tab:red')
    loss_ax.set_title(f'{stage.model}: {stage.task}')
    fig.tight_layout()
    os.makedirs(osp.dirname(path), exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def main(argv=None) -> Dict[str, dict]:
    args = parse_args(argv)
    demo = Demo(args)
    start = time.time()
    stages = [PRETRAIN, DETECTION, SEGMENTATION]
    demo.generate_data()
    demo.train([PRETRAIN])
    demo.train([DETECTION, SEGMENTATION])
    whole = f'whole demo: {(time.time() - start) / 60:.1f} min'
    if args.deploy is not None:
        deploy_start = time.time()
        demo.deploy([DETECTION, SEGMENTATION],
                    args.deploy or list(DEPLOY_RUNTIMES))
        whole += (f' (then INT8 deployment: '
                  f'{(time.time() - deploy_start) / 60:.1f} min)')
    if args.with_peer:
        stages += [PEER_PRETRAIN, PEER_DETECTION]
        peer_start = time.time()
        demo.train([PEER_PRETRAIN])
        demo.train([PEER_DETECTION])
        whole += f' (then the peer: {(time.time() - peer_start) / 60:.1f} min)'
    print()
    print(demo.summary(stages))
    print(f'\n{whole}; learning curves in {osp.join(demo.root, "curves")}, '
          f'predictions in {osp.join(demo.root, "pictures")}')
    return demo.results


if __name__ == '__main__':
    from mmvit.utils.cli import run_cli
    run_cli(main)
