"""The send queue of one realtime connection: bounded, conflating, never blocking."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)


class Outbox:
    """A bounded, conflating queue of encoded frames for one client.

    :meth:`offer` never blocks. While fewer than ``max_queue`` frames wait it
    appends. Beyond that the client is *behind*: frames offered with a
    ``key`` (a ``TICK`` or ``ORDERBOOK`` of one stock) replace the previous one
    with that key; frames without a key are all kept, in order. The client is
    caught up once everything is taken; ``on_stuck`` is called (once) when it is
    still behind ``grace`` seconds after falling behind, or when more than
    ``max_queue`` keyless frames piled up meanwhile.
    """

    def __init__(
        self, *, max_queue: int, grace: float, on_stuck: Callable[[str], None] | None = None
    ) -> None:
        self._max = max_queue
        self._grace = grace
        self._on_stuck = on_stuck
        self._queue: deque[str] = deque()
        self._held: dict[object, str] = {}
        self._kept = 0
        self._serial = 0
        self._behind_since: float | None = None
        self._epoch = 0
        self._timer: asyncio.TimerHandle | None = None
        self._wakeup = asyncio.Event()
        self.closed = False
        self.stuck = False
        self.dropped = 0
        """Frames replaced by a newer one of the same key while behind."""

    @property
    def behind(self) -> bool:
        return self._behind_since is not None

    @property
    def pending(self) -> int:
        return len(self._queue) + len(self._held)

    def offer(self, text: str, key: object | None = None) -> None:
        if self.closed:
            return
        if self._behind_since is None:
            if len(self._queue) < self._max:
                self._queue.append(text)
                self._wakeup.set()
                return
            self._fall_behind()
        if key is None:
            self._kept += 1
            if self._kept > self._max:
                self._stick("too many undeliverable messages")
                return
            self._serial += 1
            key = ("kept", self._serial)
        elif self._held.pop(key, None) is not None:
            self.dropped += 1
        self._held[key] = text  # (re)inserted last: arrival order is kept
        self._wakeup.set()

    def _fall_behind(self) -> None:
        loop = asyncio.get_running_loop()
        self._behind_since = loop.time()
        self._epoch += 1
        self._kept = 0
        self._timer = loop.call_later(self._grace, self._grace_over, self._epoch)

    def _grace_over(self, epoch: int) -> None:
        if self._behind_since is not None and epoch == self._epoch and not self.closed:
            self._stick(f"behind for more than {self._grace:g} s")

    def _caught_up(self) -> None:
        self._behind_since = None
        self._kept = 0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _stick(self, why: str) -> None:
        log.warning("realtime client too slow (%s): closing", why)
        self.stuck = True
        self.close()
        if self._on_stuck is not None:
            self._on_stuck(why)

    def get_nowait(self) -> str | None:
        if self._queue:
            return self._queue.popleft()
        if self._held:
            self._queue.extend(self._held.values())
            self._held.clear()
            self._kept = 0
            return self._queue.popleft()
        if self._behind_since is not None:
            self._caught_up()
        return None

    async def get(self) -> str | None:
        """The next frame; ``None`` once closed."""
        while not self.closed:
            text = self.get_nowait()
            if text is not None:
                return text
            self._wakeup.clear()
            await self._wakeup.wait()
        return None

    def close(self) -> None:
        self.closed = True
        self._queue.clear()
        self._held.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wakeup.set()


# ----------------------------------------------------------------- the session
