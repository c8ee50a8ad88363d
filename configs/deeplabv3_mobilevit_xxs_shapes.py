# Short alias of deeplabv3_mobilevit-xxs-d16_1xb4-2e_shapes-160x160.py
_base_ = './deeplabv3_mobilevit-xxs-d16_1xb4-2e_shapes-160x160.py'
