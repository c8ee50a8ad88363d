"""Export wrappers: each mmvit model as a plain tensor-in / tensor-out module.

:func:`wrap_model` turns a built model into the module that is exported. Its
input is the image batch as the model's data preprocessor receives it: float
pixels ``[B, 3, H, W]`` in the channel order the pipeline loads (BGR for
mmvit's configs). The graph starts with the preprocessor's channel swap and
mean / std normalisation (:class:`Preprocess`), so a deployment only has to
resize the image.

Outputs per task (``B`` dynamic, ``H x W`` the export size; the graph's
output names are :func:`output_names`):

* ``backbone``: the backbone's feature maps ``feat0, feat1, ...``;
* ``classifier``: ``logits [B, num_classes]``;
* ``detector``: ``boxes [B, A, 4]`` (input-pixel ``x1, y1, x2, y2``, clipped
  to the image as mmdet does) and ``scores [B, A, num_classes]`` (softmax,
  background dropped), or with NMS ``dets [B, K, 5]`` (box + score) and
  ``labels [B, K]`` (``K = max_per_img``; rows past the detections are zero
  with label ``-1``), following mmdet's ``test_cfg``;
* ``segmentor``: ``logits [B, num_classes, H, W]`` (resized to the input as
  mmseg's ``EncoderDecoder.predict``) and ``labels [B, H, W]`` (argmax).

Export runs in float32: :func:`wrap_model` (and ``export_onnx``) reject a
model with fp16 / bf16 parameters or buffers with a ``ValueError`` that names
the fix (``model.float()``), rather than casting silently (a half graph
would no longer match the float32 PyTorch reference the parity checks hold
it to, and half NMS is wrong, see ``SSDLiteHead``). The model may sit on any
device: the detector's dry run follows its parameters (:func:`model_device`).
"""
import itertools
import warnings
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmvit.apis import TASKS
from .nms_op import nms_mask
from .postprocess import candidate_mask

# MobileViT downsamples by 32 (the stem and four stride-2 stages).
SIZE_DIVISOR = 32
MIN_SIZE = 64


def model_device(module: nn.Module) -> torch.device:
    """The device of ``module``'s first parameter (or buffer); CPU for a
    module without either."""
    tensor = next(itertools.chain(module.parameters(), module.buffers()), None)
    return torch.device('cpu') if tensor is None else tensor.device


def check_float32(module: nn.Module) -> None:
    """Raise a ``ValueError`` naming the fix when a floating-point parameter
    or buffer of ``module`` is not float32 (export runs in float32)."""
    named = list(module.named_parameters()) + list(module.named_buffers())
    bad = [(name, t.dtype) for name, t in named
           if t.is_floating_point() and t.dtype != torch.float32]
    if bad:
        name, dtype = bad[0]
        raise ValueError(
            f'ONNX export runs in float32, but {len(bad)} parameters / '
            f'buffers of {type(module).__name__} are not (e.g. {name}: '
            f'{dtype}); export a float32 copy: copy.deepcopy(model).float()')


def check_input_shape(height: int, width: int) -> None:
    """Export sizes must be multiples of 32 and at least 64."""
    if min(height, width) < MIN_SIZE:
        raise ValueError(f'input shape {height}x{width} is too small: both '
                         f'sides must be >= {MIN_SIZE}')
    if height % SIZE_DIVISOR or width % SIZE_DIVISOR:
        raise ValueError(f'input shape {height}x{width}: both sides must be '
                         f'multiples of {SIZE_DIVISOR} (the network stride)')


class Preprocess(nn.Module):
    """The data preprocessor's channel swap and normalisation as a module.

    Args:
        data_preprocessor (nn.Module, optional): An mmengine / mmdet / mmseg
            / mmpretrain image data preprocessor; None for an identity.
    """

    def __init__(self, data_preprocessor: Optional[nn.Module]) -> None:
        super().__init__()
        pre = data_preprocessor
        self.swap_channels = bool(
            getattr(pre, '_channel_conversion', False)
            or getattr(pre, 'channel_conversion', False))
        self.normalize = bool(getattr(pre, '_enable_normalize', False))
        if self.normalize:
            self.register_buffer('mean', pre.mean.detach().clone().float())
            self.register_buffer('std', pre.std.detach().clone().float())

    def forward(self, x: Tensor) -> Tensor:
        if self.swap_channels:
            x = x.flip(1)  # [B, 3, H, W], BGR <-> RGB
        if self.normalize:
            x = (x - self.mean) / self.std
        return x


class BackboneExportWrapper(nn.Module):
    """Image -> the backbone's feature maps (tuple)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.preprocess = Preprocess(getattr(model, 'data_preprocessor', None))
        self.backbone = getattr(model, 'backbone', model)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        return tuple(self.backbone(self.preprocess(x)))


class ClassifierExportWrapper(nn.Module):
    """Image -> class logits ``[B, num_classes]`` of an mmpretrain
    ``ImageClassifier``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.preprocess = Preprocess(model.data_preprocessor)
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        return self.model.head(self.model.extract_feat(self.preprocess(x)))


class SegmentorExportWrapper(nn.Module):
    """Image -> ``logits [B, K, H, W]`` at the input size and the argmax
    ``labels [B, H, W]`` of an mmseg ``EncoderDecoder`` (``mode='whole'``)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        if model.test_cfg.get('mode', 'whole') != 'whole':
            warnings.warn('the exported segmentor infers the whole image; '
                          f'test_cfg.mode={model.test_cfg.mode!r} is ignored')
        self.preprocess = Preprocess(model.data_preprocessor)
        self.model = model

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        size = x.shape[-2:]
        head = self.model.decode_head
        logits = head(self.model.extract_feat(self.preprocess(x)))
        logits = F.interpolate(
            logits,
            size=size,
            mode='bilinear',
            align_corners=head.align_corners)
        return logits, logits.argmax(dim=1)


class DetectorExportWrapper(nn.Module):
    """Image -> decoded boxes and class scores of an SSD-style detector
    (softmax classifier with background last, ``DeltaXYWHBBoxCoder``).

    The anchors of the export size are computed once with the head's own
    anchor generator and stored as a buffer.

    Args:
        model (nn.Module): An mmdet ``SingleStageDetector``.
        input_shape (tuple[int, int]): Export ``(H, W)``.
        with_nms (bool): Append mmdet's test-time filtering and class-wise
            NMS (``score_thr``, ``nms_pre`` per level or
            ``nms_pre_per_class``, ``min_bbox_size``,
            ``nms.iou_threshold``, ``max_per_img`` of ``test_cfg``), the NMS
            as ONNX ``NonMaxSuppression``. Defaults to False.
    """

    def __init__(self,
                 model: nn.Module,
                 input_shape: Tuple[int, int],
                 with_nms: bool = False) -> None:
        super().__init__()
        head = model.bbox_head
        if head.use_sigmoid_cls:
            raise NotImplementedError(
                'only softmax (SSD-style) classifiers are supported')
        coder = head.bbox_coder
        if type(coder).__name__ != 'DeltaXYWHBBoxCoder' or coder.add_ctr_clamp:
            raise NotImplementedError(
                f'unsupported box coder {type(coder).__name__}')
        self.preprocess = Preprocess(model.data_preprocessor)
        self.model = model
        self.input_shape = tuple(int(s) for s in input_shape)
        self.num_classes = head.num_classes
        self.with_nms = with_nms
        self.test_cfg = dict(head.test_cfg or {})
        if with_nms:
            nms = self.test_cfg.get('nms') or {}
            if nms.get('type', 'nms') != 'nms':
                raise NotImplementedError(
                    f'only hard NMS exports, got test_cfg.nms={nms}')
            if 'max_per_img' not in self.test_cfg:
                raise ValueError('test_cfg.max_per_img is needed for NMS')

        # anchors of the export size, from a dry run of the feature maps
        device = model_device(model)
        dummy = torch.zeros(1, 3, *self.input_shape, device=device)
        with torch.no_grad():
            cls_scores, _ = head(model.extract_feat(dummy))
        featmap_sizes = [tuple(c.shape[-2:]) for c in cls_scores]
        priors = head.prior_generator.grid_priors(
            featmap_sizes, dtype=torch.float32, device=device)
        self.level_sizes = [int(p.shape[0]) for p in priors]
        self.register_buffer('anchors', torch.cat(priors))  # [A, 4]
        self.register_buffer('means',
                             torch.tensor(coder.means, device=device).float())
        self.register_buffer('stds',
                             torch.tensor(coder.stds, device=device).float())
        self.max_ratio = abs(float(np.log(16 / 1000)))
        self.clip_border = coder.clip_border

    def decode(self, deltas: Tensor) -> Tensor:
        """``[B, A, 4]`` deltas -> xyxy boxes. mmdet 3.3's batched decode
        (``onnx_delta2bbox``) imports the removed ``mmdet.core.export`` when
        clipping under export, so this is the same formula written out."""
        deltas = deltas * self.stds + self.means
        anchors = self.anchors  # [A, 4]
        centers = (anchors[:, :2] + anchors[:, 2:]) * 0.5
        sizes = anchors[:, 2:] - anchors[:, :2]
        d_xy = deltas[..., :2]
        d_wh = deltas[..., 2:].clamp(min=-self.max_ratio, max=self.max_ratio)
        g_xy = centers + sizes * d_xy
        g_wh = sizes * d_wh.exp()
        boxes = torch.cat([g_xy - g_wh * 0.5, g_xy + g_wh * 0.5], dim=-1)
        if self.clip_border:
            height, width = self.input_shape
            limit = boxes.new_tensor([width, height, width, height])
            boxes = torch.minimum(boxes.clamp(min=0), limit)
        return boxes

    def raw_outputs(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """``boxes [B, A, 4]`` and ``scores [B, A, num_classes]``."""
        head = self.model.bbox_head
        cls_scores, bbox_preds = head(
            self.model.extract_feat(self.preprocess(x)))
        batch = x.shape[0]
        # per level [B, A_l * C, H, W] -> [B, H * W * A_l, C], location-major
        # as mmdet's priors; rank 3 at most
        num_out = head.cls_out_channels
        cls = [
            c.permute(0, 2, 3, 1).reshape(batch, -1, num_out)
            for c in cls_scores
        ]
        deltas = [
            b.permute(0, 2, 3, 1).reshape(batch, -1, 4) for b in bbox_preds
        ]
        cls, deltas = torch.cat(cls, dim=1), torch.cat(deltas, dim=1)
        scores = cls.softmax(-1)[..., :-1]  # background is the last class
        return self.decode(deltas), scores

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        boxes, scores = self.raw_outputs(x)
        if not self.with_nms:
            return boxes, scores
        return self.nms(boxes, scores)

    def nms(self, boxes: Tensor, scores: Tensor) -> Tuple[Tensor, Tensor]:
        """mmdet's ``_predict_by_feat_single`` + ``_bbox_post_process`` on
        fixed-size tensors: ``dets [B, K, 5]``, ``labels [B, K]``."""
        cfg = self.test_cfg
        score_thr = float(cfg.get('score_thr', 0.))
        min_size = cfg.get('min_bbox_size', -1)
        batch, num_anchors, num_classes = scores.shape

        keep = candidate_mask(scores, self.level_sizes, cfg)  # [B, A, C]
        if min_size is not None and min_size >= 0:
            wh = boxes[..., 2:] - boxes[..., :2]  # [B, A, 2]
            big = (wh > min_size).all(dim=-1, keepdim=True)
            keep = keep & big
        scores = torch.where(keep, scores, torch.zeros_like(scores))

        max_per_img = int(cfg['max_per_img'])
        iou_thr = float(cfg['nms'].get('iou_threshold', 0.5))
        scores_cn = scores.transpose(1, 2)  # [B, C, A]
        selected = nms_mask(boxes, scores_cn, max_per_img, iou_thr,
                            score_thr)  # [B, C, A], 1 where kept
        flat = (scores_cn * selected).reshape(batch, -1)  # [B, C * A]
        top = min(max_per_img, num_classes * num_anchors)
        top_scores, top_idx = flat.topk(top, dim=1)  # [B, K]
        labels = top_idx // num_anchors
        box_idx = (top_idx % num_anchors).unsqueeze(-1).expand(-1, -1, 4)
        top_boxes = boxes.gather(1, box_idx)  # [B, K, 4]
        valid = top_scores > 0
        dets = torch.cat([top_boxes, top_scores.unsqueeze(-1)], dim=-1)
        dets = dets * valid.unsqueeze(-1).to(dets.dtype)
        labels = torch.where(valid, labels, torch.full_like(labels, -1))
        return dets, labels


def wrap_model(model: nn.Module,
               task: str,
               input_shape: Tuple[int, int],
               with_nms: bool = False) -> nn.Module:
    """The export wrapper of ``model`` for ``task`` (see :data:`TASKS`)."""
    if task not in TASKS:
        raise ValueError(f'task must be one of {TASKS}, got {task!r}')
    if with_nms and task != 'detector':
        raise ValueError('with_nms applies to detectors only')
    needs = dict(
        classifier='head', detector='bbox_head',
        segmentor='decode_head').get(task)
    if needs is not None and not hasattr(model, needs):
        raise ValueError(f'cannot export {type(model).__name__} as a {task}: '
                         f'it has no {needs}')
    check_float32(model)
    if task == 'backbone':
        wrapper = BackboneExportWrapper(model)
    elif task == 'classifier':
        wrapper = ClassifierExportWrapper(model)
    elif task == 'segmentor':
        wrapper = SegmentorExportWrapper(model)
    else:
        wrapper = DetectorExportWrapper(model, input_shape, with_nms=with_nms)
    return wrapper.eval()


def output_names(wrapper: nn.Module, num_outputs: int) -> List[str]:
    """Names of the graph outputs of a wrapper."""
    if isinstance(wrapper, DetectorExportWrapper):
        return ['dets', 'labels'] if wrapper.with_nms else ['boxes', 'scores']
    if isinstance(wrapper, SegmentorExportWrapper):
        return ['logits', 'labels']
    if isinstance(wrapper, ClassifierExportWrapper):
        return ['logits']
    return [f'feat{i}' for i in range(num_outputs)]
