"""ml-cvnets' SSDLite prediction head as an mmdet ``SSDHead``."""
import numbers
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.models.dense_heads import SSDHead
from mmdet.structures.bbox import cat_boxes
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from mmvit.registry import MODELS
from ..necks.ssdlite_neck import check_in_channels


def candidate_detections(head,
                         boxes: Tensor,
                         scores: Tensor,
                         labels: Tensor,
                         img_meta: dict,
                         cfg: ConfigDict,
                         rescale: bool = True,
                         with_nms: bool = True) -> InstanceData:
    """The detections of one image from its candidates (decoded ``boxes``
    in input pixels, their ``scores`` and ``labels``): ``head``'s own
    ``_bbox_post_process`` (rescale, ``min_bbox_size``, class-wise NMS,
    ``max_per_img``). Any mmdet dense head; the host-side post-processing of
    exported detectors calls it too."""
    results = InstanceData()
    results.bboxes = boxes
    results.scores = scores
    results.labels = labels
    return head._bbox_post_process(
        results=results,
        cfg=cfg,
        rescale=rescale,
        with_nms=with_nms,
        img_meta=img_meta)


@MODELS.register_module()
class SSDLiteHead(SSDHead):
    """SSDLite head of ml-cvnets (MobileViT paper, section 4.2.1).

    Per level: an optional 1x1 projection (conv + norm + act) when
    ``proj_channels`` differs from ``in_channels``, then a separable
    predictor: a depthwise 3x3 conv + norm (no activation) shared by boxes
    and classes, followed by two pointwise 1x1 convs with bias, one for the
    ``num_anchors * (num_classes + 1)`` class scores and one for the
    ``num_anchors * 4`` box deltas. Levels with ``kernel_sizes[i] == 1`` (the
    global 1x1 level) use plain 1x1 convs. Splitting cvnets' single combined
    pointwise conv into a class and a box conv keeps the same parameters and
    lets mmdet's anchor, target, loss and NMS code run unchanged.

    What differs from mmdet's ``SSDHead`` (and why this subclass exists):
    the projection and the *shared* depthwise conv (mmdet gives boxes and
    classes a depthwise conv each and activates it) and the loss normaliser
    is at least 1 (mmdet divides by the number of positives, NaN for a batch
    without objects; cvnets clamps it to 1).

    Anchors, box coding, max-IoU assignment, hard-negative mining (CE on
    positives and the ``neg_pos_ratio`` hardest negatives), smooth-L1 and
    NMS are mmdet's.

    Losses and predictions are computed in float32 whatever the dtype of the
    head outputs (autocast, fp16 / bf16 test settings): decoding and NMS in
    half precision move boxes by whole pixels (bf16 rounds 320 to a multiple
    of 2) and mmcv's class-wise NMS offsets every class by
    ``class * (max coordinate + 1)``, ~25,000 for 80 classes, where fp16 is
    spaced 16 and bf16 128 apart.

    At test time ``test_cfg.nms_pre_per_class = k`` selects the NMS
    candidates as cvnets does (HEAD ``ssd.py``, ``top_k`` 400): per image,
    each class keeps its ``k`` best anchors (over all levels) whose score
    exceeds ``score_thr``; this replaces mmdet's per-level ``nms_pre`` (the
    best ``nms_pre`` (anchor, class) pairs of each level). ``None`` (or
    absent) keeps mmdet's selection. ``min_bbox_size``, the class-wise NMS
    and ``max_per_img`` are mmdet's in both cases.

    Args:
        num_classes (int): Classes without background. Defaults to 80.
        in_channels (Sequence[int]): Channels of the input levels. Defaults
            to MobileViT-S + cvnets extras ``(128, 160, 256, 128, 128, 64)``.
        proj_channels (Sequence[int]): Channels after the per-level 1x1
            projection (no projection where equal to the input). Defaults to
            ``(512, 256, 256, 128, 128, 64)``.
        kernel_sizes (Sequence[int]): Depthwise kernel of each level's
            predictor, 1 for plain 1x1 convs. Defaults to
            ``(3, 3, 3, 3, 3, 1)``.
        conv_cfg (dict, optional): Convolution config. Defaults to None.
        norm_cfg (dict): Norm config. Defaults to ``dict(type='BN')``.
        act_cfg (dict): Activation of the projections. Defaults to
            ``dict(type='ReLU')``.
        anchor_generator (dict): Anchor generator config. Defaults to
            ``mmvit.SSDLiteAnchorGenerator`` at 320x320.
        bbox_coder (dict): Box coder config. Defaults to
            ``DeltaXYWHBBoxCoder`` with stds ``(0.1, 0.1, 0.2, 0.2)``.
        reg_decoded_bbox (bool): Regress decoded boxes. Defaults to False.
        train_cfg (dict, optional): ``assigner``, ``neg_pos_ratio``,
            ``smoothl1_beta`` etc., as mmdet's ``SSDHead``. Defaults to None.
        test_cfg (dict, optional): ``nms_pre`` or ``nms_pre_per_class``,
            ``score_thr``, ``nms``, ``max_per_img``. Defaults to None.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to Xavier-uniform convolutions with zero bias, as cvnets.
    """

    def __init__(
        self,
        num_classes: int = 80,
        in_channels: Sequence[int] = (128, 160, 256, 128, 128, 64),
        proj_channels: Sequence[int] = (512, 256, 256, 128, 128, 64),
        kernel_sizes: Sequence[int] = (3, 3, 3, 3, 3, 1),
        conv_cfg: Optional[dict] = None,
        norm_cfg: dict = dict(type='BN'),
        act_cfg: dict = dict(type='ReLU'),
        anchor_generator: dict = dict(
            type='mmvit.SSDLiteAnchorGenerator', input_size=320),
        bbox_coder: dict = dict(
            type='DeltaXYWHBBoxCoder',
            target_means=(0., 0., 0., 0.),
            target_stds=(0.1, 0.1, 0.2, 0.2)),
        reg_decoded_bbox: bool = False,
        train_cfg: Optional[dict] = None,
        test_cfg: Optional[dict] = None,
        init_cfg: Optional[dict] = dict(
            type='Xavier', layer='Conv2d', distribution='uniform', bias=0)
    ) -> None:
        num_levels = len(in_channels)
        if len(proj_channels) != num_levels or len(kernel_sizes) != num_levels:
            raise ValueError(
                f'in_channels, proj_channels and kernel_sizes need one entry '
                f'per level, got {len(in_channels)}, {len(proj_channels)} '
                f'and {len(kernel_sizes)}')
        if any(k not in (1, 3, 5, 7) for k in kernel_sizes):
            raise ValueError(f'kernel_sizes must be odd (1 = plain 1x1 '
                             f'predictor), got {tuple(kernel_sizes)}')
        # read by _init_layers(), which SSDHead.__init__ calls
        self.proj_channels = tuple(proj_channels)
        self.kernel_sizes = tuple(kernel_sizes)
        super().__init__(
            num_classes=num_classes,
            in_channels=tuple(in_channels),
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            anchor_generator=anchor_generator,
            bbox_coder=bbox_coder,
            reg_decoded_bbox=reg_decoded_bbox,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            init_cfg=init_cfg)
        if self.prior_generator.num_levels != num_levels:
            raise ValueError(
                f'SSDLiteHead: bbox_head.anchor_generator has '
                f'{self.prior_generator.num_levels} levels but '
                f'bbox_head.in_channels has {num_levels} '
                f'{tuple(in_channels)}; give the anchor generator one '
                'output_strides / ratios entry per neck output')

    def _init_layers(self) -> None:
        """Build the per-level projections and predictors."""
        self.proj_convs = nn.ModuleList()
        self.dw_convs = nn.ModuleList()
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        for in_ch, proj_ch, kernel, num_anchors in zip(self.in_channels,
                                                       self.proj_channels,
                                                       self.kernel_sizes,
                                                       self.num_base_priors):
            self.proj_convs.append(nn.Identity() if proj_ch ==
                                   in_ch else ConvModule(
                                       in_ch,
                                       proj_ch,
                                       1,
                                       conv_cfg=self.conv_cfg,
                                       norm_cfg=self.norm_cfg,
                                       act_cfg=self.act_cfg))
            self.dw_convs.append(nn.Identity() if kernel == 1 else ConvModule(
                proj_ch,
                proj_ch,
                kernel,
                padding=kernel // 2,
                groups=proj_ch,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=None))
            self.cls_convs.append(
                nn.Conv2d(proj_ch, num_anchors * self.cls_out_channels, 1))
            self.reg_convs.append(nn.Conv2d(proj_ch, num_anchors * 4, 1))

    def forward(self, x: Tuple[Tensor]) -> Tuple[List[Tensor], List[Tensor]]:
        """Class scores ``[B, A * (C + 1), H, W]`` and box deltas
        ``[B, A * 4, H, W]`` for every level."""
        check_in_channels(x, self.in_channels, 'SSDLiteHead', 'bbox_head',
                          'neck')
        cls_scores, bbox_preds = [], []
        for feat, proj, dw, cls_conv, reg_conv in zip(x, self.proj_convs,
                                                      self.dw_convs,
                                                      self.cls_convs,
                                                      self.reg_convs):
            feat = dw(proj(feat))
            cls_scores.append(cls_conv(feat))
            bbox_preds.append(reg_conv(feat))
        return cls_scores, bbox_preds

    def loss_by_feat_single(self, cls_score: Tensor, bbox_pred: Tensor,
                            anchor: Tensor, labels: Tensor,
                            label_weights: Tensor, bbox_targets: Tensor,
                            bbox_weights: Tensor,
                            avg_factor: int) -> Tuple[Tensor, Tensor]:
        """mmdet's SSD loss of one image, normalised by ``max(num_pos, 1)``
        over the batch (mmdet: NaN for a batch without objects)."""
        return super().loss_by_feat_single(
            cls_score,
            bbox_pred,
            anchor,
            labels,
            label_weights,
            bbox_targets,
            bbox_weights,
            avg_factor=max(avg_factor, 1))

    def loss_by_feat(
        self,
        cls_scores: List[Tensor],
        bbox_preds: List[Tensor],
        batch_gt_instances: List[InstanceData],
        batch_img_metas: List[dict],
        batch_gt_instances_ignore: Optional[List[InstanceData]] = None
    ) -> Dict[str, List[Tensor]]:
        """mmdet's SSD losses, computed in float32."""
        # fp32 losses (and hard-negative ranking) under autocast / fp16
        return super().loss_by_feat(
            [score.float() for score in cls_scores],
            [pred.float() for pred in bbox_preds],
            batch_gt_instances,
            batch_img_metas,
            batch_gt_instances_ignore=batch_gt_instances_ignore)

    def predict_by_feat(self,
                        cls_scores: List[Tensor],
                        bbox_preds: List[Tensor],
                        score_factors: Optional[List[Tensor]] = None,
                        batch_img_metas: Optional[List[dict]] = None,
                        cfg: Optional[ConfigDict] = None,
                        rescale: bool = False,
                        with_nms: bool = True) -> List[InstanceData]:
        """mmdet's detections, computed in float32 (see the class note)."""
        # mmdet builds the priors in cls_scores' dtype; fp16 / bf16 anchors,
        # decoding and NMS class offsets (~79 * 321) shift or collapse boxes
        cls_scores = [score.float() for score in cls_scores]
        bbox_preds = [pred.float() for pred in bbox_preds]
        if score_factors is not None:
            score_factors = [factor.float() for factor in score_factors]
        return super().predict_by_feat(
            cls_scores,
            bbox_preds,
            score_factors=score_factors,
            batch_img_metas=batch_img_metas,
            cfg=cfg,
            rescale=rescale,
            with_nms=with_nms)

    def _predict_by_feat_single(self,
                                cls_score_list: List[Tensor],
                                bbox_pred_list: List[Tensor],
                                score_factor_list: List[Optional[Tensor]],
                                mlvl_priors: List[Tensor],
                                img_meta: dict,
                                cfg: Optional[ConfigDict] = None,
                                rescale: bool = False,
                                with_nms: bool = True) -> InstanceData:
        """Detections of one image: mmdet's, or with
        ``cfg.nms_pre_per_class`` set, each class's best anchors (cvnets)
        through mmdet's ``_bbox_post_process`` (class-wise NMS)."""
        cfg = self.test_cfg if cfg is None else cfg
        per_class = cfg.get('nms_pre_per_class')
        if per_class is None:
            return super()._predict_by_feat_single(
                cls_score_list,
                bbox_pred_list,
                score_factor_list,
                mlvl_priors,
                img_meta,
                cfg,
                rescale=rescale,
                with_nms=with_nms)
        if (isinstance(per_class, bool)
                or not isinstance(per_class, numbers.Integral)
                or per_class < 1):
            raise ValueError('test_cfg.nms_pre_per_class must be a positive '
                             f'integer or None, got {per_class!r}')
        if score_factor_list[0] is not None:
            raise NotImplementedError(
                'nms_pre_per_class does not support score factors')

        # per level [A * (C + 1), H, W] -> [H * W * A, C + 1], then all levels
        logits = torch.cat([
            score.permute(1, 2, 0).reshape(-1, self.cls_out_channels)
            for score in cls_score_list
        ])
        deltas = torch.cat([
            pred.permute(1, 2, 0).reshape(-1, self.bbox_coder.encode_size)
            for pred in bbox_pred_list
        ])
        priors = cat_boxes(mlvl_priors)
        if self.use_sigmoid_cls:
            scores = logits.sigmoid()
        else:  # background is the last class (mmdet)
            scores = logits.softmax(-1)[:, :-1]  # [N, C]

        # each class's best anchors: [k, C] scores and anchor indices
        top_scores, top_anchors = scores.topk(
            min(int(per_class), scores.size(0)), dim=0)
        keep = top_scores > cfg.get('score_thr', 0)
        labels = keep.nonzero()[:, 1]
        anchors = top_anchors[keep]

        boxes = self.bbox_coder.decode(
            priors[anchors], deltas[anchors], max_shape=img_meta['img_shape'])
        return candidate_detections(self, boxes, top_scores[keep], labels,
                                    img_meta, cfg, rescale, with_nms)
