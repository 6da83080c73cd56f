"""One consumer's side of the fan-out: a bounded queue that never blocks the producer.

:meth:`Subscriber.offer` is synchronous and O(1). While the queue has room a
message is simply appended. When it is full the subscriber *conflates*: it
keeps only the latest :class:`TickMessage` per stock code (any other message,
``ORDER`` updates included, is always kept, in order) until the consumer has
emptied its queue. A consumer still behind
``grace_seconds`` after the first overflow (or after ``max_rounds`` conflation
rounds) is disconnected: its iterator yields one ``ERROR`` ``slow_consumer``
message and ends, and :attr:`close_code` says 1008 (policy violation).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable

from quantum.adapter.schema import ErrorMessage, RealtimeMessage, TickMessage

log = logging.getLogger(__name__)

__all__ = ["SLOW_CONSUMER_CLOSE_CODE", "Subscriber"]

SLOW_CONSUMER_CLOSE_CODE = 1008
"""WebSocket close code for a consumer dropped by policy."""


class Subscriber:
    """A bounded, conflating mailbox for one consumer."""

    def __init__(
        self,
        *,
        max_queue: int = 1000,
        grace_seconds: float = 2.0,
        max_rounds: int | None = None,
        on_disconnect: Callable[[Subscriber], None] | None = None,
        name: str = "",
    ) -> None:
        if max_queue < 1 or grace_seconds <= 0:
            raise ValueError("need max_queue >= 1 and grace_seconds > 0")
        self.name = name
        self._max_queue = max_queue
        self._grace = grace_seconds
        self._max_rounds = max_rounds
        self._on_disconnect = on_disconnect
        self._queue: deque[RealtimeMessage] = deque()
        self._conflated: dict[object, RealtimeMessage] = {}
        self._other_no = 0
        self._behind_since: float | None = None
        self._behind_epoch = 0
        self._rounds = 0
        self._timer: asyncio.TimerHandle | None = None
        self._wakeup: asyncio.Event = asyncio.Event()
        self.notify: Callable[[], None] | None = None
        """Called (like the consumer's wake-up) when messages become waiting and on
        close: a consumer that drains from a callback instead of awaiting :meth:`get`
        (e.g. the realtime router's shared flusher). Idempotent calls expected."""
        self._closed = False
        self.close_code: int | None = None
        """``None`` while open or after a normal :meth:`close`; 1008 after a slow-consumer drop."""
        self.close_reason = ""
        self.offered = 0
        """Messages offered."""
        self.conflated = 0
        """Ticks replaced by a newer tick of the same code while conflating."""
        self.conflation_episodes = 0

    # ----------------------------------------------------------------- state

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def conflating(self) -> bool:
        return self._behind_since is not None

    @property
    def pending(self) -> int:
        return len(self._queue) + len(self._conflated)

    # ----------------------------------------------------------------- producer side

    def offer(self, message: RealtimeMessage) -> bool:
        """Queue ``message``; never blocks. False when the subscriber is closed."""
        if self._closed:
            return False
        self.offered += 1
        if self._behind_since is None:
            queue = self._queue
            if len(queue) < self._max_queue:
                queue.append(message)
                if len(queue) == 1:  # otherwise the consumer has not emptied it yet
                    self._wakeup.set()
                    if self.notify is not None:
                        self.notify()
                return True
            self._start_conflating()
        else:
            behind = asyncio.get_running_loop().time() - self._behind_since
            if behind > self._grace:
                self.disconnect("slow consumer")
                return False
        if isinstance(message, TickMessage):
            key: object = message.stock_code
            if self._conflated.pop(key, None) is not None:
                self.conflated += 1
        else:
            self._other_no += 1
            key = ("other", self._other_no)
        self._conflated[key] = message  # re-inserted last: keeps arrival order
        self._wakeup.set()
        if self.notify is not None:
            self.notify()
        return True

    def _start_conflating(self) -> None:
        loop = asyncio.get_running_loop()
        self._behind_since = loop.time()
        self._behind_epoch += 1
        self._rounds = 0
        self.conflation_episodes += 1
        epoch = self._behind_epoch
        self._timer = loop.call_later(self._grace, self._grace_expired, epoch)
        log.info("subscriber %s is behind (%d queued): conflating", self.name, len(self._queue))

    def _grace_expired(self, epoch: int) -> None:
        if not self._closed and self._behind_since is not None and epoch == self._behind_epoch:
            self.disconnect("slow consumer")

    def _caught_up(self) -> None:
        self._behind_since = None
        self._rounds = 0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # ----------------------------------------------------------------- consumer side

    def get_nowait(self) -> RealtimeMessage | None:
        """The next message, or ``None`` when nothing is waiting."""
        if self._queue:
            return self._queue.popleft()
        if self._conflated:
            self._rounds += 1
            self._queue.extend(self._conflated.values())
            self._conflated.clear()
            if self._max_rounds is not None and self._rounds > self._max_rounds:
                self.disconnect("slow consumer")
                return self._queue.popleft() if self._queue else None
            return self._queue.popleft()
        if self._behind_since is not None and not self._closed:
            self._caught_up()
        return None

    def drain(self, limit: int) -> list[RealtimeMessage]:
        """Up to ``limit`` waiting messages at once, exactly as that many
        :meth:`get_nowait` calls would return them (empty when nothing waits)."""
        out: list[RealtimeMessage] = []
        queue = self._queue
        while len(out) < limit:
            room = limit - len(out)
            if len(queue) <= room and queue:
                out.extend(queue)
                queue.clear()
                continue
            if queue:
                out.extend(queue.popleft() for _ in range(room))
                break
            message = self.get_nowait()  # a conflation round, or catching up
            if message is None:
                break
            out.append(message)
        return out

    async def get(self) -> RealtimeMessage | None:
        """The next message; ``None`` once closed and drained."""
        while True:
            message = self.get_nowait()
            if message is not None:
                return message
            if self._closed:
                return None
            self._wakeup.clear()
            await self._wakeup.wait()

    async def messages(self) -> AsyncIterator[RealtimeMessage]:
        while (message := await self.get()) is not None:
            yield message

    # ----------------------------------------------------------------- closing

    def disconnect(self, reason: str) -> None:
        """Drop the consumer by policy: pending messages are discarded, one
        ERROR message is left, and the iterator ends after it."""
        if self._closed:
            return
        log.warning("disconnecting subscriber %s: %s", self.name, reason)
        self._queue.clear()
        self._conflated.clear()
        self._queue.append(ErrorMessage(code="slow_consumer", message=reason))
        self.close_code = SLOW_CONSUMER_CLOSE_CODE
        self.close_reason = reason
        self._finish()
        if self._on_disconnect is not None:
            self._on_disconnect(self)

    def close(self) -> None:
        """End normally: what is queued is still delivered, then the iterator ends."""
        if not self._closed:
            self._finish()

    def _finish(self) -> None:
        self._closed = True
        self._behind_since = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wakeup.set()
        if self.notify is not None:
            self.notify()
