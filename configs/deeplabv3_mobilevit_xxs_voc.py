# Short alias of deeplabv3_mobilevit-xxs-d16_4xb32-50e_voc12aug-512x512.py
_base_ = './deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_4xb32-50e_voc12aug-512x512.py'
