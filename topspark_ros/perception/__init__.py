"""Perception without ROS: the model service (file rules, profile per T), event windows and
the callback-to-worker hand-off. ``topspark_ros.nodes.perception`` wires them to topics."""

from .events import EventRejected, EventStream, EventWindow
from .inbox import Arrival, Batch, Inbox
from .service import FALLBACKS, ModelFiles, ModelService, ModelStartError, SaveResult
from .settings import DEFAULT_MAX_PIXELS, Settings

__all__ = ['Arrival', 'Batch', 'EventRejected', 'EventStream', 'EventWindow', 'FALLBACKS',
           'Inbox', 'ModelFiles', 'ModelService', 'ModelStartError', 'SaveResult', 'Settings',
           'DEFAULT_MAX_PIXELS']
