"""The platform's realtime WebSocket ``/ws/realtime`` (see :mod:`.session`)."""

from quantum.platform.realtime.session import Outbox, RealtimeOptions, RealtimeSession

__all__ = ["Outbox", "RealtimeOptions", "RealtimeSession"]
