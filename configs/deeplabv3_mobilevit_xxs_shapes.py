# Short alias of deeplabv3_mobilevit-xxs-d16_1xb8-2e_shapes-256x256.py (stage
# 2 of the embedded demo, tools/demo.py).
_base_ = './deeplabv3_mobilevit/deeplabv3_mobilevit-xxs-d16_1xb8-2e_shapes-256x256.py'
