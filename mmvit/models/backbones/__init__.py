from .mobilevit import MobileViT, StageSetting

__all__ = ['MobileViT', 'StageSetting']
