"""The one numerical-comparison rule of the suite.

Two float32 computations of the same maths (BN folded or not, onnxruntime or
PyTorch, channels-last or not, a converted checkpoint or the original, one
CPU's kernels or another's) round differently at every operation, so their
results differ by an amount that scales with the *magnitude* of what is
compared and with the depth of the computation, never by a fixed number.
Every parity test compares through :func:`assert_close`, whose bound is
relative to the largest magnitude of the reference (single-op tests use the
same bound: looser than they need, still far below any real defect).

Derivation of :data:`REL`: float32 has ``eps = 2**-23 ~= 1.19e-7``. A dot
product over ``K`` terms has a rounding error of at most ``K * eps`` times the
sum of the terms' magnitudes (Higham, Accuracy and Stability of Numerical
Algorithms, Sec. 3.1), and in practice about ``sqrt(K) * eps`` of it because
the individual roundings are independent. The longest reductions of these
models are ``K = 3 * 3 * 320 = 2,880`` (MobileViT-S's fusion conv over the
concatenated local and global maps), i.e. ``sqrt(K) * eps ~= 6.4e-6``
relative per layer; over the ~50 layers of a backbone with its head these add
up like a random walk (``sqrt(50) ~= 7``): ``~4.5e-5``.
``REL = 1e-4`` (about 840 eps) covers that with margin, on any x86-64 CPU and
thread count, while a real defect -- a dropped BN term, a wrong key, a
transposed weight -- changes the outputs by O(1) of their magnitude.
"""
from typing import Any, Sequence

import numpy as np
import torch

#: Bound on ``max|actual - expected| / max|expected|`` for whole networks
#: (see the module docstring for the derivation).
REL = 1e-4

#: Bound on the fraction of argmax labels that may differ between two such
#: computations: a label flips only where its two best logits are within
#: ~REL of the logits' magnitude of each other; with logits spread over
#: O(1) that is ~1e-4 of the elements at the very most (observed: 1 pixel
#: of 262,144), while a real defect (a wrong class order, a dropped term)
#: changes most labels.
ARGMAX_FLIP_FRACTION = 1e-3


def _flatten(value: Any) -> Sequence[np.ndarray]:
    if isinstance(value, (list, tuple)):
        return [a for item in value for a in _flatten(item)]
    if isinstance(value, torch.Tensor):
        return [value.detach().cpu().double().numpy()]
    return [np.asarray(value, dtype=np.float64)]


def relative_error(actual: Any, expected: Any) -> float:
    """``max|actual - expected| / max|expected|`` over tensors, arrays or
    nested sequences of them (the shapes must agree)."""
    actual, expected = _flatten(actual), _flatten(expected)
    assert len(actual) == len(expected), (len(actual), len(expected))
    error, scale = 0., 0.
    for act, exp in zip(actual, expected):
        assert act.shape == exp.shape, (act.shape, exp.shape)
        if exp.size == 0:
            continue
        error = max(error, float(np.abs(act - exp).max()))
        scale = max(scale, float(np.abs(exp).max()))
    if error == 0.:
        return 0.
    # an all-zero reference: any difference is relative to the smallest
    # normal float32 (so an exact match is still required)
    return error / max(scale, float(torch.finfo(torch.float32).tiny))


def assert_close(actual: Any,
                 expected: Any,
                 rel: float = REL,
                 what: str = '') -> float:
    """Assert ``relative_error(actual, expected) <= rel``; returns the
    relative error (for tests that print it)."""
    error = relative_error(actual, expected)
    assert error <= rel, (f'{what + ": " if what else ""}relative error '
                          f'{error:.3g} > {rel:.3g}')
    return error


def assert_same_top(actual: Any,
                    expected: Any,
                    k: int = 1,
                    dim: int = -1,
                    rel: float = REL) -> None:
    """The ``k`` best entries along ``dim`` (argmax for ``k=1``, top-5
    classes, ...) agree in order wherever the ranking is decided: an
    entry's rank is only checked when its value is further than
    ``2 * rel * max|expected|`` from both neighbours in the ranking (two
    values closer than that may swap within the bound of
    :func:`assert_close`). Most of them must be decided, so the check is not
    vacuous."""
    act = torch.as_tensor(np.asarray(_flatten(actual)[0]))
    exp = torch.as_tensor(np.asarray(_flatten(expected)[0]))
    assert act.shape == exp.shape, (act.shape, exp.shape)
    act, exp = act.movedim(dim, -1), exp.movedim(dim, -1)
    margin = 2 * rel * float(exp.abs().max())
    values, order = exp.sort(dim=-1, descending=True)
    act_order = act.argsort(dim=-1, descending=True, stable=True)
    inf = values.new_full(values.shape[:-1] + (1, ), float('inf'))
    gaps = values[..., :-1] - values[..., 1:]  # gap to the next one down
    above = torch.cat([inf, gaps], -1)[..., :k]
    below = torch.cat([gaps, inf], -1)[..., :k]
    decided = (above > margin) & (below > margin)
    assert decided.float().mean() > 0.5, 'the ranking is mostly near-tied'
    agree = act_order[..., :k] == order[..., :k]
    assert agree[decided].all(), (
        f'{int((~agree & decided).sum())} decided ranks differ')
