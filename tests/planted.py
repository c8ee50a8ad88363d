"""Planted, well-separated detections for tests that compare post-NMS
outputs.

NMS is discontinuous: with random weights two scores or an IoU can lie
within float32 rounding of each other or of a threshold, and two correct
implementations (onnxruntime and PyTorch, folded and unfolded BN) then keep
different boxes. These head outputs have no such near-tie: every score that
passes ``score_thr`` differs from every other by >= 0.03 and from the
threshold by >= 0.03, the others are 0.001 or <= 1e-8 (class logits of -20
against a background logit of 0), and every pair of same-class boxes has an
IoU <= 0.25 or of 0.83 against an NMS threshold of 0.5. So the detections an NMS must return are known exactly
(:func:`expected_detections`).
"""
from typing import Dict, List, Sequence, Tuple

import torch
from torch import Tensor

STEP = 0.03  # score gap between any two planted detections
BACKGROUND_ONLY = -20.  # class logit where nothing is planted
# (row, col) cells of the first level; 3 cells apart, so their boxes (at
# most ~3 strides wide) do not overlap
CELLS = ((1, 1), (1, 4), (4, 1), (4, 4))


def _scaled(box: Tensor, factor: float) -> Tensor:
    center, half = (box[:2] + box[2:]) / 2, (box[2:] - box[:2]) / 2 * factor
    return torch.cat([center - half, center + half])


def _shifted(box: Tensor, fraction: float) -> Tensor:
    width = box[2] - box[0]
    return box + box.new_tensor([fraction * width, 0, fraction * width, 0])


def plan(head, featmap_sizes: Sequence[Tuple[int, int]]) -> List[Dict]:
    """The planted detections: level, cell, anchor, class, box (inside the
    image), score, and whether an NMS with IoU threshold 0.5 and
    ``score_thr`` 0.01 drops it. No anchor carries two planted classes (they
    would share one softmax)."""
    anchors = head.prior_generator.grid_priors(
        featmap_sizes, device='cpu')  # per level [H * W * A, 4]
    height, width = featmap_sizes[0]
    num_anchors = head.num_base_priors[0]
    if height < 6 or width < 6 or num_anchors < 5:
        raise ValueError('planting needs a first level of at least 6x6 '
                         f'cells and 5 anchors, got {featmap_sizes[0]} and '
                         f'{num_anchors}')
    stride_w, stride_h = head.prior_generator.strides[0]
    limit = torch.tensor([width * stride_w, height * stride_h] * 2).float()

    def anchor(level, cell, index):
        cols = featmap_sizes[level][1]
        return anchors[level][(cell[0] * cols + cell[1]) *
                              head.num_base_priors[level] + index]

    def entry(level, cell, index, label, box=None, suppressed=False):
        box = anchor(level, cell, index) if box is None else box
        box = torch.minimum(box.clamp(min=0), limit)
        return dict(level=level, cell=cell, anchor=index, label=label,
                    box=box, suppressed=suppressed)

    # one box per cell and class (class c on the cell's anchor c): all kept
    entries = [
        entry(0, cell, label, label) for cell in CELLS
        for label in range(min(head.num_classes, 3))
    ]
    # same class as a kept box: IoU 1 / 1.1**2 = 0.83 (suppressed), or
    # 0.25 (shifted by 60% of its width: kept)
    entries.append(
        entry(0, CELLS[0], 3, 0, _scaled(entries[0]['box'], 1.1), True))
    entries.append(entry(0, CELLS[0], 4, 1, _shifted(entries[1]['box'], .6)))
    # one on the second level
    rows, cols = featmap_sizes[1]
    entries.append(entry(1, (rows - 1, cols - 1), 0, 0))
    for i, item in enumerate(entries):
        item['score'] = 0.95 - STEP * i
    # and one under score_thr: dropped
    entries.append(entry(0, CELLS[3], 3, 0, suppressed=True))
    entries[-1]['score'] = 0.001
    return entries


def head_outputs(head, featmap_sizes: Sequence[Tuple[int, int]]
                 ) -> Tuple[List[Tensor], List[Tensor]]:
    """``(cls_scores, bbox_preds)`` of one image, the layout of mmdet's
    ``SSDHead.forward`` (``[1, A * (C + 1), H, W]``, ``[1, A * 4, H, W]``)
    with the planted detections."""
    num_anchors = head.num_base_priors
    num_out = head.cls_out_channels  # classes + background (last)
    cls_scores = [
        torch.full((1, a * num_out, h, w), BACKGROUND_ONLY)
        for a, (h, w) in zip(num_anchors, featmap_sizes)
    ]
    for cls, a in zip(cls_scores, num_anchors):
        cls[:, num_out - 1::num_out] = 0.  # background logit
    bbox_preds = [
        torch.zeros(1, a * 4, h, w)
        for a, (h, w) in zip(num_anchors, featmap_sizes)
    ]
    anchors = head.prior_generator.grid_priors(featmap_sizes, device='cpu')
    for entry in plan(head, featmap_sizes):
        level, (row, col), index = entry['level'], entry['cell'], entry[
            'anchor']
        score = entry['score']
        # softmax over [..., class logit z, ..., background 0] with the
        # other classes at -20: score = e^z / (e^z + 1 + ~0)
        logit = float(torch.tensor(score / (1 - score)).log())
        cls_scores[level][0, index * num_out + entry['label'], row,
                          col] = logit
        prior = anchors[level][(row * featmap_sizes[level][1] + col) *
                               num_anchors[level] + index]
        delta = head.bbox_coder.encode(prior[None], entry['box'][None])[0]
        bbox_preds[level][0, index * 4:index * 4 + 4, row, col] = delta
    return cls_scores, bbox_preds


def planted_forward(self, x: Sequence[Tensor]):
    """A drop-in ``SSDLiteHead.forward`` returning the planted outputs for
    every image of the batch (the features only give the batch size and the
    map sizes; ``0 * feature`` keeps the graph connected for export)."""
    sizes = tuple(tuple(f.shape[-2:]) for f in x)
    cache = self.__dict__.setdefault('_planted_outputs', {})
    if sizes not in cache:
        cache[sizes] = head_outputs(self, sizes)
    cls_scores, bbox_preds = cache[sizes]
    cls_out = [f[:, :1] * 0 + c.to(f) for f, c in zip(x, cls_scores)]
    box_out = [f[:, :1] * 0 + b.to(f) for f, b in zip(x, bbox_preds)]
    return cls_out, box_out


def featmap_sizes(detector, input_shape: Tuple[int, int]
                  ) -> List[Tuple[int, int]]:
    """The head's input map sizes for images of ``input_shape``."""
    with torch.no_grad():
        feats = detector.extract_feat(torch.zeros(1, 3, *input_shape))
    return [tuple(f.shape[-2:]) for f in feats]


def expected_detections(head, featmap_sizes) -> Tuple[Tensor, Tensor, Tensor]:
    """What the head's test-time NMS keeps of the plan, best first:
    ``boxes [K, 4]``, ``scores [K]``, ``labels [K]``."""
    score_thr = head.test_cfg.get('score_thr', 0.)
    iou_thr = head.test_cfg.nms.get('iou_threshold', 0.5)
    entries = plan(head, featmap_sizes)
    # the plan's choices hold for these thresholds, far from every score
    # and IoU of the plan
    lowest_kept = min(e['score'] for e in entries if not e['suppressed'])
    if not (0.005 <= score_thr <= lowest_kept - STEP
            and 0.35 <= iou_thr <= 0.75):
        raise ValueError(f'the plan needs 0.005 <= score_thr <= '
                         f'{lowest_kept - STEP:.2f} and an IoU threshold in '
                         f'[0.35, 0.75], got {score_thr} and {iou_thr}')
    if head.test_cfg.get('max_per_img', 1000) < len(entries):
        raise ValueError(f'the plan needs max_per_img >= {len(entries)}')
    kept = [e for e in entries if not e['suppressed']]
    kept.sort(key=lambda e: -e['score'])
    return (torch.stack([e['box'] for e in kept]),
            torch.tensor([e['score'] for e in kept]),
            torch.tensor([e['label'] for e in kept]))
