"""Host-side post-processing of an exported model's outputs: the one place
that turns what any runtime returns into the toolboxes' data samples.

Mobile runtimes (ExecuTorch / XNNPACK, and INT8 graphs in general) have no
NMS op, so every exported detector ends at decoded boxes and class scores
(:class:`~mmvit.deployment.wrappers.DetectorExportWrapper`) and the
test-time filtering and NMS run here, on the host, for every runtime alike:

* detector: :func:`detections` picks the candidates as mmdet's
  ``_predict_by_feat_single`` does (``score_thr``, ``nms_pre`` per level,
  or SSDLiteHead's ``nms_pre_per_class``), then hands them to the head's own
  ``_bbox_post_process`` (rescale, ``min_bbox_size``, class-wise
  ``batched_nms``, ``max_per_img``): mmdet's code, not a copy;
* segmentor: the segmentor's own ``postprocess_result`` (padding removed,
  logits resized to the original image, argmax);
* classifier: the head's own ``_get_predictions`` (softmax, argmax).

:func:`to_data_samples` dispatches on the task; its input is the runtime's
outputs as numpy arrays or tensors, in the wrapper's output order.
"""
from typing import List, Sequence

import numpy as np
import torch
from mmengine.structures import InstanceData
from torch import Tensor


def candidate_mask(scores: Tensor, level_sizes: Sequence[int],
                   test_cfg: dict) -> Tensor:
    """``[..., A, C]`` bool: the (anchor, class) pairs that enter NMS under
    ``test_cfg`` (``score_thr``, then the ``nms_pre`` best per level or
    each class's ``nms_pre_per_class`` best over all levels). The fixed
    shape form of mmdet's ``filter_scores_and_topk``; the exported NMS
    graph and the host share it."""
    score_thr = float(test_cfg.get('score_thr', 0.))
    keep = scores > score_thr
    num_anchors = scores.shape[-2]
    per_class = test_cfg.get('nms_pre_per_class')
    nms_pre = int(test_cfg.get('nms_pre', -1))
    if per_class is not None:
        # SSDLiteHead's cvnets rule: each class's best anchors, all levels
        if int(per_class) < num_anchors:
            kth = scores.topk(int(per_class), dim=-2).values[..., -1:, :]
            keep = keep & (scores >= kth)  # kth: [..., 1, C]
    elif nms_pre > 0:
        # mmdet keeps the nms_pre best (anchor, class) pairs per level
        masked = torch.where(keep, scores, torch.zeros_like(scores))
        kept = []
        for level in masked.split(list(level_sizes), dim=-2):
            flat = level.flatten(-2)  # [..., A_l * C]
            if nms_pre < flat.shape[-1]:
                kth = flat.topk(nms_pre, dim=-1).values[..., -1:]
                flat_keep = flat >= kth
            else:
                flat_keep = torch.ones_like(flat, dtype=torch.bool)
            kept.append(flat_keep.reshape(level.shape))
        keep = keep & torch.cat(kept, dim=-2)
    return keep


def detections(head, boxes: Tensor, scores: Tensor,
               level_sizes: Sequence[int], img_meta: dict) -> InstanceData:
    """mmdet's detections of one image from its decoded ``boxes [A, 4]``
    (input pixels) and ``scores [A, C]``: the candidates of
    :func:`candidate_mask`, then the head's own ``_bbox_post_process``
    (rescale to the original image, ``min_bbox_size``, NMS, ``max_per_img``;
    :func:`~mmvit.models.dense_heads.ssdlite_head.candidate_detections`)."""
    from mmvit.models.dense_heads.ssdlite_head import candidate_detections
    cfg = head.test_cfg
    anchor_idx, labels = candidate_mask(scores, level_sizes,
                                        cfg).nonzero(as_tuple=True)
    return candidate_detections(head, boxes[anchor_idx],
                                scores[anchor_idx, labels], labels, img_meta,
                                cfg)


def _tensor(array) -> Tensor:
    if isinstance(array, Tensor):
        return array.detach().cpu().float()
    return torch.from_numpy(np.ascontiguousarray(array)).float()


def to_data_samples(task: str, model, outputs: Sequence,
                    data_samples: List, level_sizes: Sequence[int] = ()):
    """The data samples of a batch with the predictions of ``outputs`` set,
    as ``model.predict`` returns them.

    Args:
        task (str): ``'classifier'``, ``'detector'`` or ``'segmentor'``.
        model: The config's model (its post-processing code and
            ``test_cfg`` are used; its weights are not).
        outputs (Sequence): The runtime's outputs in the wrapper's order:
            ``logits``; ``boxes, scores``; ``logits[, labels]``.
        data_samples (list): The batch's data samples (their meta).
        level_sizes (Sequence[int]): Detectors: anchors per level.
    """
    if task == 'classifier':
        return model.head._get_predictions(_tensor(outputs[0]), data_samples)
    if task == 'segmentor':
        return model.postprocess_result(_tensor(outputs[0]), data_samples)
    if task != 'detector':
        raise ValueError(f'no data samples for task {task!r}')
    boxes, scores = _tensor(outputs[0]), _tensor(outputs[1])
    for i, sample in enumerate(data_samples):
        sample.pred_instances = detections(model.bbox_head, boxes[i],
                                           scores[i], level_sizes,
                                           sample.metainfo)
    return data_samples
