# Short alias of deeplabv3-aspp512_mobilevit-s-d8_4xb32-50e_voc12aug-512x512.py
_base_ = './deeplabv3-aspp512_mobilevit-s-d8_4xb32-50e_voc12aug-512x512.py'
