"""Old home of :mod:`mmvit.models.task_modules.ssdlite_anchor_generator`."""
# re-export for one release (issue 15)
from ..task_modules.ssdlite_anchor_generator import SSDLiteAnchorGenerator

__all__ = ['SSDLiteAnchorGenerator']
