# PASCAL VOC 2012 train + SBD aug (mmseg's voc12aug layout,
# data/VOCdevkit/VOC2012) + the COCO train2017 images with VOC classes
# (data/coco_voc), the training data of ml-cvnets' DeepLabv3-MobileViT
# (`dataset.pascal.use_coco_data: true`). Write the COCO part with
#   python tools/dataset_converters/coco2voc_seg.py \
#       data/coco/annotations/instances_train2017.json \
#       data/coco/train2017 data/coco_voc --nproc 8
# (VOC masks: COCO classes mapped to VOC as cvnets does, 255 borders of 5 px
# as VOC's, other COCO classes background). Pipelines: mmseg's, as in
# pascal_voc12_aug.py; cvnets' are `cvnets_train_pipeline` and
# `cvnets_test_pipeline` (from cvnets_voc_seg.py).
_base_ = ['./pascal_voc12_aug.py', './cvnets_voc_seg.py']
train_dataloader = dict(
    dataset=dict(datasets=[
        *_base_.train_dataloader.dataset.datasets,
        dict(_base_.coco_voc_train, pipeline=_base_.train_pipeline),
    ]))
