"""``torch.compile`` the backbone only.

mmengine's ``compile=True`` compiles the model's whole ``train_step``, and
dynamo then traces mmdet's / mmseg's loss code (target assignment, sampling,
Python-side bookkeeping) where it breaks or recompiles every iteration. The
backbone is the plain tensor program that holds most of the FLOPs: this hook
compiles just it, in place (``nn.Module.compile``), so parameter names,
checkpoints, EMA and DDP are unchanged::

    custom_hooks = [dict(type='mmvit.CompileBackboneHook')]

Multi-scale training feeds several input sizes: dynamo recompiles for the
second and from then on marks the sizes dynamic (``dynamic=None``), or pass
``dynamic=True`` to start dynamic.
"""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmvit.registry import HOOKS


@HOOKS.register_module()
class CompileBackboneHook(Hook):
    """Compile ``model.backbone`` with ``torch.compile`` before training.

    Args:
        backend (str): ``torch.compile`` backend. Defaults to ``'inductor'``.
        mode (str, optional): ``torch.compile`` mode, e.g.
            ``'reduce-overhead'`` or ``'max-autotune'``. Defaults to None.
        dynamic (bool, optional): Dynamic shapes (see the module docstring).
            Defaults to None.
        fullgraph (bool): Fail on a graph break instead of falling back to
            Python. Defaults to False.
    """

    priority = 'LOW'  # after the other hooks' before_train (EMA copies first)

    def __init__(self,
                 backend: str = 'inductor',
                 mode: Optional[str] = None,
                 dynamic: Optional[bool] = None,
                 fullgraph: bool = False) -> None:
        self.compile_kwargs = dict(
            backend=backend, mode=mode, dynamic=dynamic, fullgraph=fullgraph)

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        backbone = getattr(model, 'backbone', None)
        if backbone is None:
            raise TypeError(f'CompileBackboneHook needs a model with a '
                            f'`backbone`, got {type(model).__name__}')
        backbone.compile(**self.compile_kwargs)
