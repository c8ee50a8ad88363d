# Short alias of ssdlite_mobilevit-xxs_1xb8-24e_shapes-128.py (the embedded
# default: trains and evaluates out of the box on generated data).
_base_ = './ssdlite_mobilevit-xxs_1xb8-24e_shapes-128.py'
