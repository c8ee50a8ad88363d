r"""Write the model index that ``mim`` reads: one ``metafile.yml`` and one
``README.md`` per algorithm folder of ``configs/``, and ``model-index.yml``.

    python tools/misc/make_model_index.py [--check]

Parameters and FLOPs are measured here, by building every config's model
(``mmvit.apis.build_model``) and counting with ``mmvit.utils.count_flops``
at the input size of the algorithm (the size its metric is reported at).
Metrics are the authors' published numbers (marked ``Converted From``) or,
for the embedded demo, the numbers of the README's measured run; a config
without a metric (not trained here) has no ``Results``. ``--check`` compares
the files on disk with what would be written and exits 1 on a difference.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Optional

import torch
import yaml

from mmvit.apis import build_model
from mmvit.models.backbones.families import FAMILIES
from mmvit.utils.cli import run_cli
from mmvit.utils.flops import NetworkForward, count_flops

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO_ROOT, 'configs')
CVNETS = 'https://github.com/apple/ml-cvnets'
ASSETS = 'https://docs-assets.developer.apple.com/ml-research/models'
MMPRETRAIN = ('https://download.openmmlab.com/mmclassification/v0/mobilevit/'
              'mobilevit-{name}_3rdparty_in1k_{stamp}.pth')

# what an algorithm folder holds: folder prefix (none for the classifiers)
# -> (collection name prefix, task, the (h, w) FLOPs are counted at)
KINDS = {
    '': ('', 'Image Classification', (256, 256)),
    'ssdlite': ('SSDLite', 'Object Detection', (320, 320)),
    'deeplabv3': ('DeepLabv3', 'Semantic Segmentation', (512, 512)),
    'retinanet': ('RetinaNet', 'Object Detection', (800, 1344)),
    'mask-rcnn': ('Mask-R-CNN', 'Instance Segmentation', (800, 1344)),
    'fpn': ('Semantic-FPN', 'Semantic Segmentation', (512, 512)),
    'upernet': ('UPerNet', 'Semantic Segmentation', (512, 512)),
}
# the README's line about a folder (others get a generic one)
SUMMARIES = {
    'mobilevit': 'MobileViT v1 ImageNet classifiers (mmpretrain).',
    'mobilevitv2': 'MobileViTv2 ImageNet classifiers, widths 0.5-2.0 '
    '(mmpretrain).',
    'ssdlite_mobilevit':
    'SSDLite with separable convolutions on MobileViT (mmdet).',
    'ssdlite_mobilevitv2': 'SSDLite on MobileViTv2 (mmdet).',
    'deeplabv3_mobilevit': 'DeepLabv3 on MobileViT (mmseg).',
    'deeplabv3_mobilevitv2': 'DeepLabv3 on MobileViTv2 (mmseg).',
    'retinanet_mobilevit':
    "MobileViT-S in mmdet's RetinaNet + FPN (not trained here).",
    'mask-rcnn_mobilevit':
    "MobileViT-S in mmdet's Mask R-CNN + FPN (not trained here).",
    'fpn_mobilevit': "MobileViT-S in mmseg's semantic FPN (not trained "
    'here).',
    'upernet_mobilevit': "MobileViT-S in mmseg's UPerNet (not trained "
    'here).',
}


def _algorithms() -> Dict[str, dict]:
    """Every folder of ``configs/`` named ``[{kind}_]{family}`` (see
    :data:`KINDS` and the backbone families' records) -> its collection:
    ``name``, ``task``, ``family`` (the record), ``shape`` and
    ``summary``."""
    algorithms = {}
    for family in FAMILIES.values():
        for kind, (prefix, task, shape) in KINDS.items():
            folder = f'{kind}_{family.config_prefix}' if kind else \
                family.config_prefix
            if not osp.isdir(osp.join(CONFIGS, folder)):
                continue
            name = f'{prefix}-{family.name}' if prefix else family.name
            algorithms[folder] = dict(
                name=name,
                task=task,
                family=family,
                shape=shape,
                summary=SUMMARIES.get(folder, f'{name} ({task}).'))
    return algorithms


ALGORITHMS = _algorithms()
SHAPES_SIZE = (256, 256)  # the embedded demo's images
V1, V2 = FAMILIES['MobileViT'], FAMILIES['MobileViTv2']


def _published(dataset: str, metric: str, value: float, converted: str,
               weights: Optional[str] = None) -> dict:
    """The authors' number for their weights at ``converted`` (a path under
    :data:`ASSETS`)."""
    return dict(
        dataset=dataset,
        metrics={metric: value},
        converted=f'{ASSETS}/{converted}',
        weights=weights)


def _measured(dataset, metrics):
    return dict(dataset=dataset, metrics=metrics, measured=True)


# config (relative to configs/) -> its result: published (converted from the
# authors' weights) or measured here; configs not listed claim no metric
RESULTS = {
    # README, "Quick start": seed 0 run of tools/demo.py on this machine
    'mobilevit/mobilevit-xxsmall_1xb32_shapes.py':
    _measured('mmvit shapes (generated)', {'Top 1 Accuracy': 86.75}),
    'ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py':
    _measured('mmvit shapes (generated)', {'box AP': 66.5}),
    'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_1xb8-2e_shapes-'
    '256x256.py':
    _measured('mmvit shapes (generated)', {'mIoU': 85.36}),
    'deeplabv3_mobilevit/deeplabv3_mobilevit-s-d16_4xb32-50e_voc12aug-coco-'
    '512x512.py':
    _published('PASCAL VOC 2012', 'mIoU', 79.1,
               'cvnets/segmentation/deeplabv3_mobilevit_s.pt'),
    'deeplabv3_mobilevit/deeplabv3-aspp512_mobilevit-s-d8_4xb16-accum2-50e_'
    'voc12aug-coco-512x512.py':
    _published('PASCAL VOC 2012', 'mIoU', 79.44,
               'cvnets-v2/segmentation/pascalvoc/deeplabv3-mobilevitv1.pt'),
}
for _arch, _stamp, _top1 in (('small', '20221018-cb4f741c', 78.4),
                             ('x_small', '20221018-be39a6e7', 74.8),
                             ('xx_small', '20221018-77835605', 69.0)):
    RESULTS[V1.configs['classifier'](_arch)] = _published(
        'ImageNet-1k', 'Top 1 Accuracy', _top1,
        f'cvnets/classification/{V1.cvnets_name(_arch)}',
        MMPRETRAIN.format(name=_arch.replace('_', ''), stamp=_stamp))
for _arch, _ap in (('small', 27.7), ('x_small', 24.8), ('xx_small', 19.9)):
    RESULTS[V1.configs['detector'](_arch)] = _published(
        'COCO', 'box AP', _ap,
        f'cvnets/detection/ssd_mobilevit_{V1.config_name(_arch)}_320.pt')
for _arch, _miou in (('x_small', 77.1), ('xx_small', 73.6)):
    RESULTS[V1.configs['segmentor'](_arch)] = _published(
        'PASCAL VOC 2012', 'mIoU', _miou, 'cvnets/segmentation/'
        f'deeplabv3_mobilevit_{V1.config_name(_arch)}.pt')

for _arch, _top1 in (('0.5', 70.18), ('0.75', 75.56), ('1.0', 78.09),
                     ('1.25', 79.65), ('1.5', 80.38), ('1.75', 80.84),
                     ('2.0', 81.17)):
    RESULTS[V2.configs['classifier'](_arch)] = _published(
        'ImageNet-1k', 'Top 1 Accuracy', _top1,
        'cvnets-v2/classification/mobilevitv2/imagenet1k/256x256/'
        f'{V2.cvnets_name(_arch)}')
for _arch, _ap in (('0.5', 21.24), ('0.75', 24.57), ('1.0', 26.47),
                   ('2.0', 30.21)):
    RESULTS[V2.configs['detector'](_arch)] = _published(
        'COCO', 'box AP', _ap,
        f'cvnets-v2/detection/mobilevitv2/coco-ssd-mobilevitv2-{_arch}.pt')
for _arch, _miou in (('0.5', 75.07), ('1.0', 78.94), ('1.5', 80.30)):
    RESULTS[V2.configs['segmentor'](_arch)] = _published(
        'PASCAL VOC 2012', 'mIoU', _miou, 'cvnets-v2/segmentation/'
        f'pascalvoc/mobilevitv2/deeplabv3-mobilevitv2-{_arch}.pt')
for _arch, _miou in (('1.0', 37.06), ('2.0', 40.94)):
    RESULTS['deeplabv3_mobilevitv2/deeplabv3_mobilevitv2-'
            f'{V2.config_name(_arch)}-d8_4xb4-120e_ade20k-512x512.py'] = \
        _published('ADE20K', 'mIoU', _miou, 'cvnets-v2/segmentation/ade20k/'
                   f'mobilevitv2/deeplabv3-mobilevitv2-{_arch}.pt')


def algorithm_configs(folder: str) -> List[str]:
    """The configs of an algorithm folder, relative to ``configs/``."""
    return sorted(f'{folder}/{name}'
                  for name in os.listdir(osp.join(CONFIGS, folder))
                  if name.endswith('.py'))


def measure(config: str, shape) -> Dict[str, float]:
    model = build_model(osp.join(CONFIGS, config))
    params = sum(p.numel() for p in model.parameters())
    flops = count_flops(NetworkForward(model), (torch.rand(1, 3, *shape), ))
    return dict(params=params, flops=flops)


def model_entry(config: str, algo: dict, numbers: dict) -> dict:
    name = osp.splitext(osp.basename(config))[0]
    result = RESULTS.get(config)
    metadata = {
        'Parameters': numbers['params'],
        'FLOPs': numbers['flops'],
        'Training Data': result['dataset'] if result else None,
    }
    entry = {
        'Name': name,
        'In Collection': algo['name'],
        'Config': f'configs/{config}',
        'Metadata': {k: v
                     for k, v in metadata.items() if v is not None},
    }
    if result:
        entry['Results'] = [{
            'Task': algo['task'],
            'Dataset': result['dataset'],
            'Metrics': result['metrics'],
        }]
        if result.get('weights'):
            entry['Weights'] = result['weights']
        if result.get('converted'):
            entry['Converted From'] = {
                'Weights': result['converted'],
                'Code': CVNETS
            }
    return entry


def metafile(folder: str, entries: List[dict]) -> dict:
    algo = ALGORITHMS[folder]
    return {
        'Collections': [{
            'Name': algo['name'],
            'Metadata': {
                'Architecture': [algo['name'].split('-')[-1]]
            },
            'Paper': dict(
                Title=algo['family'].paper.title,
                URL=algo['family'].paper.url),
            'README': f'configs/{folder}/README.md',
        }],
        'Models': entries,
    }


def _number(value: float, scale: float, digits: int) -> str:
    return f'{value / scale:.{digits}f}'


def readme(folder: str, entries: List[dict]) -> str:
    algo = ALGORITHMS[folder]
    paper = algo['family'].paper
    h, w = algo['shape']
    lines = [
        f'# {algo["name"]}', '', f'> [{paper.title}]({paper.url})', '',
        algo['summary'], '',
        f'Parameters and FLOPs (multiply-adds, attention included) are '
        f'measured by `tools/misc/make_model_index.py` at {h}x{w} '
        f'(the shapes demo at {SHAPES_SIZE[0]}x{SHAPES_SIZE[1]}); '
        'metrics marked *converted* are the authors\' published numbers for '
        'their released weights (convert them with '
        '`tools/model_converters/mobilevit2mmvit.py`, see the main README), '
        'metrics marked *measured* come from a run of this repository, '
        'and "—" means not trained here.', '',
        '| Config | Params (M) | FLOPs (G) | Data | Metric | Weights |',
        '|---|---|---|---|---|---|'
    ]
    for entry in entries:
        meta = entry['Metadata']
        result = entry.get('Results', [None])[0]
        if result:
            (metric, value), = result['Metrics'].items()
            how = 'measured' if RESULTS[entry['Config'][len('configs/'):]].get(
                'measured') else 'converted'
            score = f'{value} {metric} ({how})'
            data = result['Dataset']
        else:
            score, data = '—', '—'
        weights = []
        if entry.get('Weights'):
            weights.append(f'[mmpretrain]({entry["Weights"]})')
        if entry.get('Converted From'):
            weights.append(f'[ml-cvnets]({entry["Converted From"]["Weights"]})')
        config = osp.basename(entry['Config'])
        lines.append(
            f'| [{config}]({config}) | {_number(meta["Parameters"], 1e6, 3)} '
            f'| {_number(meta["FLOPs"], 1e9, 3)} | {data} | {score} | '
            f'{", ".join(weights) or "—"} |')
    lines += ['', '## Citation', '', '```bibtex',
              paper.bibtex, '```', '']
    return '\n'.join(lines)


def build_index(folders=None, numbers: Optional[dict] = None) -> dict:
    """``{path: text}`` of every file to write."""
    files = {}
    folders = folders or sorted(ALGORITHMS)
    for folder in folders:
        algo = ALGORITHMS[folder]
        entries = []
        for config in algorithm_configs(folder):
            shape = SHAPES_SIZE if 'shapes' in config else algo['shape']
            measured = (numbers or {}).get(config) or measure(config, shape)
            entries.append(model_entry(config, algo, measured))
        files[f'configs/{folder}/metafile.yml'] = yaml.safe_dump(
            metafile(folder, entries), sort_keys=False, width=100)
        files[f'configs/{folder}/README.md'] = readme(folder, entries)
    files['model-index.yml'] = yaml.safe_dump(
        {'Import': [f'configs/{f}/metafile.yml' for f in sorted(ALGORITHMS)]},
        sort_keys=False)
    return files


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--check', action='store_true',
                        help='exit 1 if a file on disk differs from what '
                        'would be written')
    args = parser.parse_args(argv)
    files = build_index()
    stale = []
    for path, text in files.items():
        full = osp.join(REPO_ROOT, path)
        old = open(full).read() if osp.isfile(full) else None
        if old == text:
            continue
        stale.append(path)
        if not args.check:
            with open(full, 'w') as f:
                f.write(text)
    if args.check and stale:
        sys.exit(f'out of date: {stale}; run tools/misc/make_model_index.py')
    print(f'{len(files)} files, {len(stale)} '
          f'{"out of date" if args.check else "written"}')


if __name__ == '__main__':
    run_cli(main)
