# Short alias of ssdlite_mobilevit-xs_4xb32-200e_coco.py
_base_ = './ssdlite_mobilevit/ssdlite_mobilevit-xs_4xb32-200e_coco.py'
