from .batch_guard import check_batch_norm_batch, uses_batch_statistics
from .inverted_residual import InvertedResidual
from .make_divisible import make_divisible
from .mobilevit_block import MobileViTBlock, fold_patches, unfold_patches
from .transformer import (MultiheadSelfAttention, TransformerEncoderLayer,
                          padded_attention)

__all__ = [
    'check_batch_norm_batch', 'uses_batch_statistics', 'InvertedResidual',
    'make_divisible', 'MobileViTBlock', 'fold_patches', 'unfold_patches',
    'MultiheadSelfAttention', 'TransformerEncoderLayer', 'padded_attention'
]
