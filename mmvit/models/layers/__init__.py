from .inverted_residual import InvertedResidual
from .make_divisible import make_divisible
from .mobilevit_block import MobileViTBlock, fold_patches, unfold_patches
from .transformer import MultiheadSelfAttention, TransformerEncoderLayer

__all__ = [
    'InvertedResidual', 'make_divisible', 'MobileViTBlock', 'fold_patches',
    'unfold_patches', 'MultiheadSelfAttention', 'TransformerEncoderLayer'
]
