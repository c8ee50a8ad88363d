from .dropout_linear_cls_head import DropoutLinearClsHead

__all__ = ['DropoutLinearClsHead']
