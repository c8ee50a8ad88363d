"""mmvit: MobileViT for the OpenMMLab ecosystem (mmdet, mmseg, mmpretrain)."""
import os.path as osp
import re

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_version() -> str:
    with open(osp.join(HERE, 'mmvit', 'version.py'), encoding='utf-8') as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


setup(
    name='mmvit',
    version=read_version(),
    description='MobileViT backbones, SSDLite and DeepLabv3 heads, and a '
    'multi-scale variable-batch sampler for OpenMMLab toolboxes',
    long_description=open(osp.join(HERE, 'README.md'), encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.8',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    # mim's layout: mmvit/.mim links the repository's model index, configs
    # and tools (symbolic links here; real files in a built wheel)
    package_data={
        'mmvit': [
            '.mim/model-index.yml', '.mim/configs/**/*.py',
            '.mim/configs/**/*.yml', '.mim/configs/**/*.md',
            '.mim/tools/**/*.py', '.mim/tools/**/*.sh'
        ]
    },
    # lower bounds only: `pip install -e .` into a working OpenMMLab
    # environment must keep its torch / mmcv / toolbox builds as they are
    # (the tested versions are pinned by tools/constraints.txt instead)
    install_requires=['torch>=2.0', 'mmengine>=0.10.0', 'mmcv>=2.0.0'],
    extras_require={
        'det': ['mmdet>=3.0.0', 'pycocotools'],
        'seg': ['mmsegmentation>=1.0.0', 'ftfy', 'regex'],
        'cls': ['mmpretrain>=1.0.0', 'torchvision'],
        'tests': ['pytest', 'pytest-timeout', 'pytest-xdist', 'timm'],
    },
    zip_safe=False,
)
