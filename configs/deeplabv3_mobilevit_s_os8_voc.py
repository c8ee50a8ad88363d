# Short alias of
# deeplabv3-aspp512_mobilevit-s-d8_4xb16-accum2-50e_voc12aug-coco-512x512.py
_base_ = \
    './deeplabv3_mobilevit/deeplabv3-aspp512_mobilevit-s-d8_4xb16-accum2-50e_voc12aug-coco-512x512.py'
