"""The platform's realtime WebSocket ``/ws/realtime`` (see :mod:`.session`)."""

from quantum.platform.realtime.outbox import Outbox
from quantum.platform.realtime.session import RealtimeOptions, RealtimeSession

__all__ = ["Outbox", "RealtimeOptions", "RealtimeSession"]
