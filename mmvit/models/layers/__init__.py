from .batch_guard import check_batch_norm_batch, uses_batch_statistics
from .inverted_residual import InvertedResidual
from .make_divisible import make_divisible
from .mobilevit_block import MobileViTBlock
from .mobilevitv2_block import MobileViTv2Block
from .pre_norm_layer import DropRates, PreNormTransformerLayer
from .separable_self_attention import (SeparableSelfAttention,
                                       SeparableTransformerLayer)
from .transformer import (MultiheadSelfAttention, TransformerEncoderLayer,
                          padded_attention)
from .unfold_fold import (fold_patches, resize_to_patch_multiple,
                          unfold_patches)

__all__ = [
    'check_batch_norm_batch', 'uses_batch_statistics', 'InvertedResidual',
    'make_divisible', 'MobileViTBlock', 'fold_patches', 'unfold_patches',
    'MobileViTv2Block', 'resize_to_patch_multiple',
    'SeparableSelfAttention', 'SeparableTransformerLayer',
    'MultiheadSelfAttention', 'TransformerEncoderLayer', 'padded_attention',
    'DropRates', 'PreNormTransformerLayer'
]
