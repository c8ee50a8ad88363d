# Short alias of ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py (stage 2 of the
# embedded demo, tools/demo.py).
_base_ = './ssdlite_mobilevit/ssdlite_mobilevit-xxs_1xb8-3e_shapes-256.py'
