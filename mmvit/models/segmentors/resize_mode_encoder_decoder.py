"""mmseg's EncoderDecoder with a choice of how predictions are resized back
to the original image (ml-cvnets' evaluation protocol uses nearest)."""
from typing import List, Optional

import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.segmentors import EncoderDecoder
from mmseg.structures import SegDataSample
from torch import Tensor

from mmvit.registry import MODELS

RESIZE_MODES = ('bilinear', 'nearest')


@MODELS.register_module()
class ResizeModeEncoderDecoder(EncoderDecoder):
    """``EncoderDecoder`` whose logits are resized to the original image
    size with ``resize_mode``.

    mmseg resizes the logits of each image (after removing padding and
    undoing a test-time flip) to ``ori_shape`` bilinearly, then takes the
    argmax. ml-cvnets' ``main_eval_seg`` (``engine/eval_segmentation.py``,
    ``predict_and_save``) resizes them with ``F.interpolate(...,
    mode='nearest')`` instead, so each original pixel takes the label of
    one pixel of the network's output: nearest-resizing the logits and
    then taking the argmax is the same as nearest-resizing the predicted
    labels. Used with a test pipeline that resizes the input to 512x512
    ignoring the aspect ratio, this is the protocol the MobileViT paper's
    DeepLabv3 numbers were measured with.

    Everything else, including the decode head's bilinear upsampling of the
    1/16 logits to the input size, is mmseg's.

    Args:
        resize_mode (str): ``'nearest'`` (cvnets) or ``'bilinear'`` (mmseg's
            behaviour, with the decode head's ``align_corners``). Defaults
            to ``'nearest'``.
        **kwargs: :class:`mmseg.models.EncoderDecoder` arguments
            (``backbone``, ``decode_head``, ``neck``, ``auxiliary_head``,
            ``train_cfg``, ``test_cfg``, ``data_preprocessor``,
            ``pretrained``, ``init_cfg``).
    """

    def __init__(self, resize_mode: str = 'nearest', **kwargs) -> None:
        if resize_mode not in RESIZE_MODES:
            raise ValueError(f'resize_mode must be one of {RESIZE_MODES}, '
                             f'got {resize_mode!r}')
        super().__init__(**kwargs)
        self.resize_mode = resize_mode

    def _to_original_size(self, logits: Tensor, img_meta: dict) -> Tensor:
        """[1, C, H, W] padded batch logits -> [C, h, w] at ``ori_shape``."""
        height, width = logits.shape[-2:]
        if 'img_padding_size' in img_meta:
            padding = img_meta['img_padding_size']
        else:
            padding = img_meta.get('padding_size', [0] * 4)
        left, right, top, bottom = padding
        logits = logits[..., top:height - bottom, left:width - right]
        if img_meta.get('flip', False):
            direction = img_meta.get('flip_direction')
            if direction not in ('horizontal', 'vertical'):
                raise ValueError(
                    'flip_direction must be horizontal or vertical, got '
                    f'{direction!r}')
            logits = logits.flip(
                dims=(3 if direction == 'horizontal' else 2, ))
        size = tuple(img_meta['ori_shape'][:2])
        if tuple(logits.shape[-2:]) != size:
            if self.resize_mode == 'nearest':
                # PyTorch's (legacy) nearest, as cvnets: source index
                # floor(dst * in / out)
                logits = F.interpolate(logits, size=size, mode='nearest')
            else:
                logits = F.interpolate(
                    logits,
                    size=size,
                    mode='bilinear',
                    align_corners=self.align_corners)
        return logits.squeeze(0)

    def postprocess_result(
        self,
        seg_logits: Tensor,
        data_samples: Optional[List[SegDataSample]] = None
    ) -> List[SegDataSample]:
        """Set ``seg_logits`` and ``pred_sem_seg`` of each sample, at the
        original image size when ``data_samples`` carry their metainfo (as
        :meth:`EncoderDecoder.postprocess_result`)."""
        batch_size, num_classes = seg_logits.shape[:2]
        only_prediction = data_samples is None
        if only_prediction:
            data_samples = [SegDataSample() for _ in range(batch_size)]
        for i in range(batch_size):
            if only_prediction:
                logits = seg_logits[i]
            else:
                logits = self._to_original_size(seg_logits[i:i + 1],
                                                data_samples[i].metainfo)
            if num_classes > 1:
                pred = logits.argmax(dim=0, keepdim=True)
            else:
                logits = logits.sigmoid()
                pred = (logits > self.decode_head.threshold).to(logits)
            data_samples[i].set_data({
                'seg_logits': PixelData(data=logits),
                'pred_sem_seg': PixelData(data=pred)
            })
        return data_samples
