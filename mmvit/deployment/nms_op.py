"""Class-wise NMS as a custom op, ``mmvit::nms_mask``, that the ONNX
exporter turns into ``NonMaxSuppression``.

The NMS of the exported detector (``DetectorExportWrapper.nms``) is one op
with fixed-size input and output, so the rest of the graph keeps static
shapes:

* eagerly it runs mmcv's ``batched_nms``, what mmdet's ``predict`` runs, so
  the PyTorch model of the graph keeps what mmdet keeps;
* under ``torch.export`` its fake implementation only gives the output's
  shape (that of ``scores``);
* :data:`ONNX_TRANSLATIONS` is the exporter's ``custom_translation_table``
  entry: ONNX ``NonMaxSuppression`` (selected ``(image, class, box)``
  triples) scattered back into a 0 / 1 mask of the same shape.
"""
import torch
from torch import Tensor


@torch.library.custom_op('mmvit::nms_mask', mutates_args=())
def nms_mask(boxes: Tensor, scores: Tensor, max_per_class: int,
             iou_threshold: float, score_threshold: float) -> Tensor:
    """Class-wise NMS as a mask: ``boxes [B, N, 4]``, ``scores [B, C, N]``
    -> ``[B, C, N]`` with 1 at every (image, class, box) kept (score above
    ``score_threshold``, at most ``max_per_class`` per class), else 0."""
    from mmcv.ops import batched_nms  # what mmdet's predict runs
    mask = torch.zeros_like(scores)
    for b in range(scores.shape[0]):
        cls_idx, box_idx = torch.nonzero(
            scores[b] > score_threshold, as_tuple=True)
        if cls_idx.numel() == 0:
            continue
        _, keep = batched_nms(boxes[b, box_idx], scores[b, cls_idx, box_idx],
                              cls_idx,
                              dict(type='nms', iou_threshold=iou_threshold))
        cls_keep, box_keep = cls_idx[keep], box_idx[keep]
        # NonMaxSuppression keeps the best max_per_class of each class
        for c in cls_keep.unique():
            rows = (cls_keep == c).nonzero()[:, 0][:max_per_class]
            mask[b, cls_keep[rows], box_keep[rows]] = 1
    return mask


@nms_mask.register_fake
def _nms_mask_fake(boxes, scores, max_per_class, iou_threshold,
                   score_threshold):
    return torch.empty_like(scores)


def nms_mask_onnx(boxes, scores, max_per_class: int, iou_threshold: float,
                  score_threshold: float):
    """The ONNX (onnxscript) translation of :func:`nms_mask`: the
    ``[K, 3]`` ``(image, class, box)`` rows that ``NonMaxSuppression``
    selects, scattered as ones into zeros shaped like ``scores``."""
    from onnxscript import opset18 as op
    selected = op.NonMaxSuppression(
        boxes, scores, op.Constant(value_ints=[max_per_class]),
        op.Constant(value_floats=[iou_threshold]),
        op.Constant(value_floats=[score_threshold]))  # [K, 3] (b, c, n)
    ones = op.CastLike(
        op.Expand(
            op.Constant(value_float=1.0), op.Shape(selected, start=0, end=1)),
        scores)
    zeros = op.CastLike(op.ConstantOfShape(op.Shape(scores)), scores)
    return op.ScatterND(zeros, selected, ones)


# What export_onnx hands the exporter: the op -> its ONNX translation.
ONNX_TRANSLATIONS = {torch.ops.mmvit.nms_mask.default: nms_mask_onnx}
