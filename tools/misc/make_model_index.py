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
from mmvit.utils.flops import NetworkForward, count_flops

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO_ROOT, 'configs')
CVNETS = 'https://github.com/apple/ml-cvnets'
ASSETS = 'https://docs-assets.developer.apple.com/ml-research/models'
MMPRETRAIN = ('https://download.openmmlab.com/mmclassification/v0/mobilevit/'
              'mobilevit-{name}_3rdparty_in1k_{stamp}.pth')

PAPERS = {
    'v1':
    dict(
        Title='MobileViT: Light-weight, General-purpose, and Mobile-friendly '
        'Vision Transformer',
        URL='https://arxiv.org/abs/2110.02178'),
    'v2':
    dict(
        Title='Separable Self-attention for Mobile Vision Transformers',
        URL='https://arxiv.org/abs/2206.02680'),
}
CITATIONS = {
    'v1':
    '@inproceedings{mehta2022mobilevit,\n'
    '  title={MobileViT: Light-weight, General-purpose, and Mobile-friendly '
    'Vision Transformer},\n'
    '  author={Sachin Mehta and Mohammad Rastegari},\n'
    '  booktitle={International Conference on Learning Representations},\n'
    '  year={2022}\n}',
    'v2':
    '@article{mehta2023separable,\n'
    '  title={Separable Self-attention for Mobile Vision Transformers},\n'
    '  author={Sachin Mehta and Mohammad Rastegari},\n'
    '  journal={Transactions on Machine Learning Research},\n'
    '  year={2023}\n}',
}

# folder -> what the collection is; `shape` is the (h, w) FLOPs are counted
# at, `paper` the MobileViT version
ALGORITHMS = {
    'mobilevit':
    dict(
        name='MobileViT',
        task='Image Classification',
        paper='v1',
        shape=(256, 256),
        summary='MobileViT v1 ImageNet classifiers (mmpretrain).'),
    'mobilevitv2':
    dict(
        name='MobileViTv2',
        task='Image Classification',
        paper='v2',
        shape=(256, 256),
        summary='MobileViTv2 ImageNet classifiers, widths 0.5-2.0 '
        '(mmpretrain).'),
    'ssdlite_mobilevit':
    dict(
        name='SSDLite-MobileViT',
        task='Object Detection',
        paper='v1',
        shape=(320, 320),
        summary='SSDLite with separable convolutions on MobileViT (mmdet).'),
    'ssdlite_mobilevitv2':
    dict(
        name='SSDLite-MobileViTv2',
        task='Object Detection',
        paper='v2',
        shape=(320, 320),
        summary='SSDLite on MobileViTv2 (mmdet).'),
    'deeplabv3_mobilevit':
    dict(
        name='DeepLabv3-MobileViT',
        task='Semantic Segmentation',
        paper='v1',
        shape=(512, 512),
        summary='DeepLabv3 on MobileViT (mmseg).'),
    'deeplabv3_mobilevitv2':
    dict(
        name='DeepLabv3-MobileViTv2',
        task='Semantic Segmentation',
        paper='v2',
        shape=(512, 512),
        summary='DeepLabv3 on MobileViTv2 (mmseg).'),
    'retinanet_mobilevit':
    dict(
        name='RetinaNet-MobileViT',
        task='Object Detection',
        paper='v1',
        shape=(800, 1344),
        summary="MobileViT-S in mmdet's RetinaNet + FPN (not trained here)."),
    'mask-rcnn_mobilevit':
    dict(
        name='Mask-R-CNN-MobileViT',
        task='Instance Segmentation',
        paper='v1',
        shape=(800, 1344),
        summary="MobileViT-S in mmdet's Mask R-CNN + FPN (not trained "
        'here).'),
    'fpn_mobilevit':
    dict(
        name='Semantic-FPN-MobileViT',
        task='Semantic Segmentation',
        paper='v1',
        shape=(512, 512),
        summary="MobileViT-S in mmseg's semantic FPN (not trained here)."),
    'upernet_mobilevit':
    dict(
        name='UPerNet-MobileViT',
        task='Semantic Segmentation',
        paper='v1',
        shape=(512, 512),
        summary="MobileViT-S in mmseg's UPerNet (not trained here)."),
}
SHAPES_SIZE = (256, 256)  # the embedded demo's images


def _v1_cls(name, short, stamp, top1):
    return dict(
        dataset='ImageNet-1k',
        metrics={'Top 1 Accuracy': top1},
        weights=MMPRETRAIN.format(name=name, stamp=stamp),
        converted=f'{ASSETS}/cvnets/classification/mobilevit_{short}.pt')


def _v2(kind, arch, metric, value, dataset):
    paths = {
        'cls': 'classification/mobilevitv2/imagenet1k/256x256/'
        f'mobilevitv2-{arch}.pt',
        'det': f'detection/mobilevitv2/coco-ssd-mobilevitv2-{arch}.pt',
        'voc': f'segmentation/pascalvoc/mobilevitv2/deeplabv3-mobilevitv2-'
        f'{arch}.pt',
        'ade': f'segmentation/ade20k/mobilevitv2/deeplabv3-mobilevitv2-'
        f'{arch}.pt',
    }
    url = f'{ASSETS}/cvnets-v2/{paths[kind]}'
    return dict(
        dataset=dataset, metrics={metric: value}, converted=url, weights=None)


def _v1_cvnets(task, short, metric, value, dataset):
    path = (f'detection/ssd_mobilevit_{short}_320.pt' if task == 'det' else
            f'segmentation/deeplabv3_mobilevit_{short}.pt')
    return dict(
        dataset=dataset,
        metrics={metric: value},
        converted=f'{ASSETS}/cvnets/{path}',
        weights=None)


def _measured(dataset, metrics):
    return dict(dataset=dataset, metrics=metrics, measured=True)


# config (relative to configs/) -> its result: published (converted from the
# authors' weights) or measured here; configs not listed claim no metric
RESULTS = {
    'mobilevit/mobilevit-small_8xb128_in1k.py':
    _v1_cls('small', 's', '20221018-cb4f741c', 78.4),
    'mobilevit/mobilevit-xsmall_8xb128_in1k.py':
    _v1_cls('xsmall', 'xs', '20221018-be39a6e7', 74.8),
    'mobilevit/mobilevit-xxsmall_8xb128_in1k.py':
    _v1_cls('xxsmall', 'xxs', '20221018-77835605', 69.0),
    # README, "Quick start": seed 0 run of tools/demo.py on this machine
    'mobilevit/mobilevit-xxsmall_1xb32_shapes.py':
    _measured('mmvit shapes (generated)', {'Top 1 Accuracy': 86.75}),
    'ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py':
    _measured('mmvit shapes (generated)', {'box AP': 66.5}),
    'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_1xb8-2e_shapes-'
    '256x256.py':
    _measured('mmvit shapes (generated)', {'mIoU': 85.36}),
    'ssdlite_mobilevit/ssdlite_mobilevit-s_4xb32-200e_coco.py':
    _v1_cvnets('det', 's', 'box AP', 27.7, 'COCO'),
    'ssdlite_mobilevit/ssdlite_mobilevit-xs_4xb32-200e_coco.py':
    _v1_cvnets('det', 'xs', 'box AP', 24.8, 'COCO'),
    'ssdlite_mobilevit/ssdlite_mobilevit-xxs_4xb32-200e_coco.py':
    _v1_cvnets('det', 'xxs', 'box AP', 19.9, 'COCO'),
    'deeplabv3_mobilevit/deeplabv3_mobilevit-s-d16_4xb32-50e_voc12aug-coco-'
    '512x512.py':
    _v1_cvnets('seg', 's', 'mIoU', 79.1, 'PASCAL VOC 2012'),
    'deeplabv3_mobilevit/deeplabv3_mobilevit-xs-d16_4xb32-50e_voc12aug-'
    '512x512.py':
    _v1_cvnets('seg', 'xs', 'mIoU', 77.1, 'PASCAL VOC 2012'),
    'deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_4xb32-50e_voc12aug-'
    '512x512.py':
    _v1_cvnets('seg', 'xxs', 'mIoU', 73.6, 'PASCAL VOC 2012'),
    'deeplabv3_mobilevit/deeplabv3-aspp512_mobilevit-s-d8_4xb16-accum2-50e_'
    'voc12aug-coco-512x512.py':
    dict(
        dataset='PASCAL VOC 2012',
        metrics={'mIoU': 79.44},
        converted=f'{ASSETS}/cvnets-v2/segmentation/pascalvoc/'
        'deeplabv3-mobilevitv1.pt',
        weights=None),
}
for _arch, _top1 in (('0.5', 70.18), ('0.75', 75.56), ('1.0', 78.09),
                     ('1.25', 79.65), ('1.5', 80.38), ('1.75', 80.84),
                     ('2.0', 81.17)):
    _w = f'{round(100 * float(_arch)):03d}'
    RESULTS[f'mobilevitv2/mobilevitv2-{_w}_8xb128_in1k.py'] = _v2(
        'cls', _arch, 'Top 1 Accuracy', _top1, 'ImageNet-1k')
for _arch, _ap in (('0.5', 21.24), ('0.75', 24.57), ('1.0', 26.47),
                   ('2.0', 30.21)):
    _w = f'{round(100 * float(_arch)):03d}'
    RESULTS[f'ssdlite_mobilevitv2/ssdlite_mobilevitv2-{_w}_4xb32-200e_'
            'coco.py'] = _v2('det', _arch, 'box AP', _ap, 'COCO')
for _arch, _miou in (('0.5', 75.07), ('1.0', 78.94), ('1.5', 80.30)):
    _w = f'{round(100 * float(_arch)):03d}'
    RESULTS[f'deeplabv3_mobilevitv2/deeplabv3_mobilevitv2-{_w}-d16_4xb32-'
            '50e_voc12aug-coco-512x512.py'] = _v2('voc', _arch, 'mIoU', _miou,
                                                  'PASCAL VOC 2012')
for _arch, _miou in (('1.0', 37.06), ('2.0', 40.94)):
    _w = f'{round(100 * float(_arch)):03d}'
    RESULTS[f'deeplabv3_mobilevitv2/deeplabv3_mobilevitv2-{_w}-d8_4xb4-120e_'
            'ade20k-512x512.py'] = _v2('ade', _arch, 'mIoU', _miou,
                                       'ADE20K')


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
            'Paper': PAPERS[algo['paper']],
            'README': f'configs/{folder}/README.md',
        }],
        'Models': entries,
    }


def _number(value: float, scale: float, digits: int) -> str:
    return f'{value / scale:.{digits}f}'


def readme(folder: str, entries: List[dict]) -> str:
    algo = ALGORITHMS[folder]
    paper = PAPERS[algo['paper']]
    h, w = algo['shape']
    lines = [
        f'# {algo["name"]}', '', f'> [{paper["Title"]}]({paper["URL"]})', '',
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
              CITATIONS[algo['paper']], '```', '']
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
    parser.add_argument(
        '--check',
        action='store_true',
        help='exit 1 if a file on disk differs from what would be written')
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
    main()
