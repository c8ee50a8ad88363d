from .mobilevit import MobileViT, StageSetting
from .mobilevitv2 import MobileViTv2, StageSettingV2

__all__ = ['MobileViT', 'StageSetting', 'MobileViTv2', 'StageSettingV2']
