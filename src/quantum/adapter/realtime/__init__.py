"""The adapter's realtime side: one upstream Kiwoom socket per app key, fanned out to consumers."""

from quantum.adapter.realtime.fanout import SLOW_CONSUMER_CLOSE_CODE, Subscriber
from quantum.adapter.realtime.hub import HubSubscription, RealtimeHub, SourceFor
from quantum.adapter.realtime.upstream import FeedSource, UpstreamFeed, client_source

__all__ = [
    "SLOW_CONSUMER_CLOSE_CODE",
    "FeedSource",
    "HubSubscription",
    "RealtimeHub",
    "SourceFor",
    "Subscriber",
    "UpstreamFeed",
    "client_source",
]
