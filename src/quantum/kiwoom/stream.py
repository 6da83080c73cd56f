"""``KiwoomStream``: the realtime WebSocket client (PROTOCOL.md §8).

One stream keeps one socket alive for as long as it runs:

* connect, send ``LOGIN`` with the raw token and read frames until the LOGIN
  answer (SYSTEM frames may come first); a refused LOGIN refreshes the token
  once through ``token_provider(True)``, a second refusal is fatal;
* echo every server ``PING`` frame verbatim;
* ``subscribe`` / ``unsubscribe`` send ``REG`` / ``REMOVE`` (refresh ``"1"``),
  spread items over groups of at most ``items_per_group`` items, wait for the
  answers and raise :class:`RegistrationError` when one is not ``return_code`` 0;
* on any drop (socket closed, SYSTEM R10001/R10002/R10004, no frame at all for
  ``stall_seconds``) reconnect with jittered exponential backoff, log in again
  and re-register everything that was registered;
* deliver typed events (:mod:`quantum.kiwoom.events`) and :class:`StatusEvent`
  transitions (CONNECTING, LIVE, STALLED, RECONNECTING, CLOSED) to an
  ``on_event`` callback and/or the async iterator :meth:`KiwoomStream.events`.

The token never appears in a log record or an exception message; the
``websockets`` library gets a logger that cannot log frames at DEBUG level.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import date, datetime
from types import TracebackType
from typing import TypeAlias

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from quantum.kiwoom.event_parsing import parse_real
from quantum.kiwoom.events import StatusEvent, StreamEvent, StreamState
from quantum.kiwoom.realtime import SystemCode, Trnm
from quantum.kiwoom.registrations import (
    Registration,
    RegistrationBook,
    check_group,
    registration_message,
    registration_pairs,
)
from quantum.kiwoom.stream_connection import (
    ConnectionLost,
    LoginRefused,
    RegistrationError,
    StreamClosedError,
    StreamConnection,
    StreamError,
    StreamLoginError,
    answer_code,
)
from quantum.kiwoom.wire import KST

log = logging.getLogger(__name__)

_WS_LOG = logging.getLogger(f"{__name__}.websockets")
_WS_LOG.setLevel(logging.INFO)
"""Given to ``websockets``: at DEBUG it would log every frame, LOGIN (and its token) included."""

__all__ = [
    "DROP_SYSTEM_CODES",
    "EventCallback",
    "KiwoomStream",
    "RegistrationError",
    "StreamClosedError",
    "StreamError",
    "StreamLoginError",
    "TokenProvider",
]

TokenProvider: TypeAlias = Callable[[bool], Awaitable[str]]
"""``await provider(force)`` → a raw access token; ``force=True`` must bypass any cache."""
EventCallback: TypeAlias = Callable[[StreamEvent], Awaitable[None] | None]

DROP_SYSTEM_CODES = frozenset(
    {SystemCode.DUPLICATE_SESSION, SystemCode.HEARTBEAT_MISSED, SystemCode.LOGIN_MISSING}
)
"""SYSTEM codes announcing that the server ends the session."""

_STABLE_SECONDS = 5.0
"""A connection LIVE at least this long resets the backoff."""


# --------------------------------------------------------------------------- the stream


class KiwoomStream:
    """A self-healing Kiwoom realtime connection.

    Use it as an async context manager (``async with KiwoomStream(...) as s``)
    or call :meth:`start` and :meth:`close`. Registrations made with
    :meth:`subscribe` survive reconnects.

    ``token_provider(force)`` returns the raw access token (no ``Bearer``);
    it is called with ``False`` before every connection and with ``True`` once
    after a refused LOGIN. ``session_date`` (a date, or a callable returning
    one) is the KST trading date REAL frame times belong to; by default
    today's date in KST.

    Events are buffered for :meth:`events` unless ``buffer_events`` is false
    (the default when ``on_event`` is given). ``on_event`` (sync or async) is
    called in order on a task of its own, so it may await :meth:`subscribe`;
    the socket's reader never waits for it. When more than
    ``max_buffered_events`` wait in either place the oldest are dropped
    (counted in :attr:`dropped_events`).

    ``stall_seconds`` must exceed the server's PING interval (undocumented for
    Kiwoom; 10 s in the simulator). Reconnect delays grow from
    ``backoff_initial`` to ``backoff_max`` (doubling, jittered to 50-100 %)
    and start over once a connection stayed LIVE for 5 s.
    """

    def __init__(
        self,
        ws_url: str,
        token_provider: TokenProvider,
        *,
        on_event: EventCallback | None = None,
        buffer_events: bool | None = None,
        max_buffered_events: int = 100_000,
        stall_seconds: float = 60.0,
        backoff_initial: float = 0.2,
        backoff_max: float = 10.0,
        items_per_group: int = 100,
        request_timeout: float = 10.0,
        login_timeout: float = 10.0,
        open_timeout: float = 10.0,
        close_timeout: float = 1.0,
        session_date: date | Callable[[], date] | None = None,
    ) -> None:
        if stall_seconds <= 0 or backoff_initial <= 0 or backoff_max < backoff_initial:
            raise ValueError("need stall_seconds > 0 and 0 < backoff_initial <= backoff_max")
        if items_per_group < 1:
            raise ValueError("items_per_group must be at least 1")
        self._url = ws_url
        self._token_provider = token_provider
        self._on_event = on_event
        self._stall_seconds = stall_seconds
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._request_timeout = request_timeout
        self._login_timeout = login_timeout
        self._open_timeout = open_timeout
        self._close_timeout = close_timeout
        self._session_date = session_date
        buffering = on_event is None if buffer_events is None else buffer_events
        self._queue: asyncio.Queue[StreamEvent | None] | None = (
            asyncio.Queue() if buffering else None
        )
        self._max_buffered = max_buffered_events
        self._callback_queue: asyncio.Queue[StreamEvent | None] | None = (
            asyncio.Queue() if on_event is not None else None
        )
        self._dispatcher: asyncio.Task[None] | None = None
        self._ever_live = False

        self._state: StreamState | None = None
        self._runner: asyncio.Task[None] | None = None
        self._conn: StreamConnection | None = None
        self._connections = 0
        self._changed = asyncio.Event()
        self._lock = asyncio.Lock()
        self._closing = False
        self._closed = False
        self._failure: StreamError | None = None
        self._book = RegistrationBook(items_per_group)

        self.pings_echoed = 0
        """Server PING frames echoed so far."""
        self.reconnects = 0
        """Times the stream became LIVE again after losing a connection."""
        self.dropped_events = 0
        """Events dropped because the :meth:`events` buffer was full."""

    # ----------------------------------------------------------------- public

    @property
    def state(self) -> StreamState | None:
        """The latest status; ``None`` before :meth:`start`."""
        return self._state

    @property
    def registrations(self) -> dict[str, frozenset[Registration]]:
        """Group number → the (item, type) pairs registered in it."""
        return self._book.snapshot()

    async def start(self) -> None:
        """Connect and wait until LIVE.

        Raises :class:`StreamLoginError` when the token is refused twice. A
        server that cannot be reached is retried with backoff for ever: bound
        the wait with ``asyncio.timeout``. The stream is closed when this raises
        (or is cancelled).
        """
        if self._closing:
            raise StreamClosedError("the stream is closed")
        if self._runner is None:
            if self._callback_queue is not None:
                self._dispatcher = asyncio.create_task(
                    self._dispatch(), name="kiwoom-stream-callbacks"
                )
            self._runner = asyncio.create_task(self._run(), name="kiwoom-stream")
        try:
            await self._wait_live()
        except BaseException:
            await self.close()
            raise

    async def wait_live(self) -> None:
        """Wait until the stream is LIVE (connected, logged in, re-registered)."""
        await self._wait_live()

    async def subscribe(
        self,
        codes: str | Iterable[str],
        types: Iterable[str] = ("0B",),
        group: str | None = None,
    ) -> None:
        """Register every code for every type (``REG``, refresh ``"1"``).

        Account types (``00``, ``04``) ignore ``codes`` and register the item
        ``""``. Pairs already registered are not sent again. Without ``group``
        items are spread over automatically numbered groups of at most
        ``items_per_group`` items. Waits for the stream to be LIVE (across a
        reconnect if needed) and for the server's answers; raises
        :class:`RegistrationError` on a refusal and ``TimeoutError`` when an
        answer takes longer than ``request_timeout``.
        """
        pairs = registration_pairs(codes, types)
        if group is not None:
            check_group(group)
        await self._request(lambda conn: self._subscribe(conn, pairs, group))

    async def unsubscribe(
        self,
        codes: str | Iterable[str],
        types: Iterable[str] = ("0B",),
        group: str | None = None,
    ) -> None:
        """Remove registrations (``REMOVE``) from ``group`` or from whichever
        groups hold them; pairs that are not registered are ignored."""
        pairs = registration_pairs(codes, types)
        await self._request(lambda conn: self._unsubscribe(conn, pairs, group))

    async def events(self) -> AsyncIterator[StreamEvent]:
        """Every event in arrival order; ends after the CLOSED status."""
        queue = self._queue
        if queue is None:
            raise RuntimeError("events() needs buffer_events=True when on_event is given")
        while True:
            event = await queue.get()
            if event is None:
                queue.put_nowait(None)  # later iterators end too
                return
            yield event

    async def close(self) -> None:
        """Stop for good: close the socket, emit CLOSED, end :meth:`events`."""
        self._closing = True
        if self._conn is not None:
            self._conn.finish("closing")
        current = asyncio.current_task()
        runner = self._runner
        if runner is not None and runner is not current:
            runner.cancel()
            await asyncio.wait([runner])
        self._finish_closed("closed")
        dispatcher = self._dispatcher
        if dispatcher is not None and dispatcher is not current:
            await asyncio.wait([dispatcher])  # the callback has seen CLOSED

    async def __aenter__(self) -> KiwoomStream:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ----------------------------------------------------------------- runner

    async def _run(self) -> None:
        failures = 0
        reason = ""
        detail = "closed"
        try:
            self._set_state(StreamState.CONNECTING, self._url)
            first = True
            while not self._closing:
                if not first:
                    delay = self._backoff(failures)
                    failures += 1
                    self._set_state(
                        StreamState.RECONNECTING, f"{reason}; next attempt in {delay:.2f}s"
                    )
                    await asyncio.sleep(delay)
                first = False
                try:
                    reason, live_seconds = await self._cycle()
                except StreamLoginError as exc:
                    self._failure = exc
                    detail = str(exc)
                    log.error("%s", exc)
                    return
                except (OSError, WebSocketException, TimeoutError, ConnectionLost) as exc:
                    reason = f"connection failed: {type(exc).__name__}: {exc}"
                    live_seconds = 0.0
                except Exception as exc:
                    log.exception("realtime connection failed unexpectedly")
                    reason = f"connection failed: {type(exc).__name__}: {exc}"
                    live_seconds = 0.0
                log.warning("realtime %s", reason)
                if live_seconds >= _STABLE_SECONDS:
                    failures = 0
        finally:
            self._finish_closed(detail)

    async def _cycle(self) -> tuple[str, float]:
        """One connection from connect to loss; returns why it ended and how long it was LIVE."""
        loop = asyncio.get_running_loop()
        try:
            conn = await self._open_and_login(await self._token_provider(False))
        except LoginRefused as refused:
            log.warning(
                "realtime LOGIN refused (return_code=%s); refreshing the token once",
                refused.return_code,
            )
            try:
                conn = await self._open_and_login(await self._token_provider(True))
            except LoginRefused as again:
                raise StreamLoginError(again.return_code, again.message) from None
        live_since: float | None = None
        try:
            async with self._lock:
                for group, pairs in self._book.snapshot().items():
                    try:
                        await self._send_registration(conn, Trnm.REG, group, pairs)
                    except RegistrationError as exc:
                        log.warning("re-registration failed: %s", exc)
                if not conn.finished:
                    self._conn = conn
                    live_since = loop.time()
                    if self._ever_live:
                        self.reconnects += 1
                    self._ever_live = True
                    self._set_state(StreamState.LIVE, f"connection #{conn.number}")
            reason = await conn.done
            if conn.stalled:
                self._set_state(StreamState.STALLED, reason)
            return reason, (loop.time() - live_since if live_since is not None else 0.0)
        finally:
            if self._conn is conn:
                self._conn = None
            await self._teardown(conn)

    async def _open_and_login(self, token: str) -> StreamConnection:
        ws = await connect(
            self._url,
            open_timeout=self._open_timeout,
            close_timeout=self._close_timeout,
            max_size=2**25,
            logger=_WS_LOG,
        )
        self._connections += 1
        conn = StreamConnection(ws, self._connections)
        conn.tasks = [
            asyncio.create_task(self._read(conn), name="kiwoom-stream-reader"),
            asyncio.create_task(self._watch(conn), name="kiwoom-stream-watchdog"),
        ]
        try:
            await ws.send(orjson.dumps({"trnm": Trnm.LOGIN.value, "token": token}).decode())
            try:
                answer = await asyncio.wait_for(asyncio.shield(conn.login), self._login_timeout)
            except TimeoutError:
                raise TimeoutError("no LOGIN answer") from None
            code = answer_code(answer)
            if code != 0:
                raise LoginRefused(code, str(answer.get("return_msg", "")))
            log.info("realtime LOGIN accepted (connection #%d)", conn.number)
            return conn
        except BaseException:
            conn.finish("login did not complete")
            await self._teardown(conn)
            raise

    async def _teardown(self, conn: StreamConnection) -> None:
        conn.finish("closed by the client")
        current = asyncio.current_task()
        tasks = [task for task in conn.tasks if task is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.ws.close(), self._close_timeout + 1.0)

    def _backoff(self, failures: int) -> float:
        ceiling = min(self._backoff_max, self._backoff_initial * 2.0 ** min(failures, 30))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    # ----------------------------------------------------------------- reading

    async def _read(self, conn: StreamConnection) -> None:
        loop = asyncio.get_running_loop()
        try:
            async for raw in conn.ws:
                conn.last_frame = loop.time()
                text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
                try:
                    message = orjson.loads(text)
                except orjson.JSONDecodeError:
                    log.debug("ignoring a frame that is not JSON")
                    continue
                if not isinstance(message, dict):
                    continue
                trnm = message.get("trnm")
                if trnm == Trnm.PING:
                    await conn.ws.send(text)  # the same frame back, verbatim
                    self.pings_echoed += 1
                elif trnm == Trnm.REAL:
                    for event in parse_real(message, self._today()):
                        self._emit(event)
                elif trnm == Trnm.LOGIN:
                    if not conn.login.done():
                        conn.login.set_result(message)
                elif trnm in (Trnm.REG, Trnm.REMOVE):
                    conn.resolve_ack(str(trnm), message)
                elif trnm == Trnm.SYSTEM:
                    code = str(message.get("code", ""))
                    text_message = str(message.get("message", ""))
                    if code in DROP_SYSTEM_CODES:
                        log.warning("realtime SYSTEM %s: %s", code, text_message)
                        conn.finish(f"SYSTEM {code}: {text_message}")
                        return
                    log.info("realtime SYSTEM %s: %s", code, text_message)
                else:
                    log.debug("ignoring a %r frame", trnm)
            conn.finish(f"closed by the server (code {conn.ws.close_code})")
        except ConnectionClosed as exc:
            conn.finish(f"connection lost: {exc}")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("realtime reader failed")
            conn.finish(f"reader failed: {type(exc).__name__}: {exc}")

    async def _watch(self, conn: StreamConnection) -> None:
        loop = asyncio.get_running_loop()
        while not conn.finished:
            remaining = conn.last_frame + self._stall_seconds - loop.time()
            if remaining > 0:
                await asyncio.sleep(remaining)
                continue
            conn.stalled = True
            conn.finish(f"no frame for {self._stall_seconds:g}s")

    def _today(self) -> date:
        chosen = self._session_date
        if chosen is None:
            return datetime.now(KST).date()
        return chosen if isinstance(chosen, date) else chosen()

    # ----------------------------------------------------------------- delivery

    def _emit(self, event: StreamEvent) -> None:
        """Hand ``event`` to the :meth:`events` buffer and the callback's queue.

        Never waits: the reader must keep echoing PINGs and reading REG answers
        whatever the consumers do (a callback may itself call ``subscribe``).
        """
        for queue in (self._queue, self._callback_queue):
            if queue is None:
                continue
            if queue.qsize() >= self._max_buffered:
                queue.get_nowait()
                self.dropped_events += 1
                if self.dropped_events == 1 or self.dropped_events % 1000 == 0:
                    log.warning("event buffer full: %d events dropped", self.dropped_events)
            queue.put_nowait(event)

    async def _dispatch(self) -> None:
        """Calls ``on_event`` for each event in order, on its own task."""
        queue, callback = self._callback_queue, self._on_event
        assert queue is not None and callback is not None
        while (event := await queue.get()) is not None:
            try:
                result = callback(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("on_event callback failed")

    def _set_state(self, state: StreamState, detail: str = "") -> None:
        self._state = state
        log.info("realtime stream %s%s", state.value, f": {detail}" if detail else "")
        self._notify()
        self._emit(StatusEvent(state, detail))

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _finish_closed(self, detail: str) -> None:
        if self._closed:
            return
        self._closed = True
        self._closing = True
        self._set_state(StreamState.CLOSED, detail)
        for queue in (self._queue, self._callback_queue):
            if queue is not None:
                queue.put_nowait(None)

    async def _wait_live(self) -> StreamConnection:
        while True:
            if self._failure is not None:
                raise self._failure
            if self._closing or self._closed:
                raise StreamClosedError("the stream is closed")
            conn = self._conn
            if conn is not None and not conn.finished:
                return conn
            if self._runner is None:
                raise StreamError("the stream is not started; call start() first")
            await self._changed.wait()

    # ----------------------------------------------------------------- registrations

    async def _request(self, operation: Callable[[StreamConnection], Awaitable[None]]) -> None:
        while True:
            conn = await self._wait_live()
            async with self._lock:
                if conn is not self._conn or conn.finished:
                    continue
                try:
                    await operation(conn)
                    return
                except ConnectionLost:
                    log.info("realtime connection lost during a registration; retrying")

    async def _subscribe(
        self, conn: StreamConnection, pairs: list[Registration], group: str | None
    ) -> None:
        wanted = self._book.missing(pairs)
        if not wanted:
            return
        for target, target_pairs in self._book.allocate(wanted, group).items():
            await self._send_registration(conn, Trnm.REG, target, target_pairs)
            self._book.acknowledged_reg(target, target_pairs, named=group is not None)

    async def _unsubscribe(
        self, conn: StreamConnection, pairs: list[Registration], group: str | None
    ) -> None:
        for target, target_pairs in self._book.removal_plan(pairs, group).items():
            await self._send_registration(conn, Trnm.REMOVE, target, target_pairs)
            self._book.acknowledged_remove(target, target_pairs)

    async def _send_registration(
        self, conn: StreamConnection, trnm: Trnm, group: str, pairs: Iterable[Registration]
    ) -> None:
        pairs = list(pairs)
        message = registration_message(trnm, group, pairs)
        if conn.finished:
            raise ConnectionLost("connection already closed")
        future = conn.expect_ack(trnm.value)
        try:
            await conn.ws.send(orjson.dumps(message).decode())
        except ConnectionClosed as exc:
            conn.finish(f"connection lost: {exc}")
            raise ConnectionLost(str(exc)) from None
        try:
            answer = await asyncio.wait_for(future, self._request_timeout)
        except TimeoutError:
            conn.finish(f"no {trnm.value} answer in {self._request_timeout:g}s")
            raise TimeoutError(f"no {trnm.value} answer in {self._request_timeout:g}s") from None
        code = answer_code(answer)
        if code != 0:
            raise RegistrationError(trnm.value, group, code, str(answer.get("return_msg", "")))
        log.debug("%s grp_no=%s acknowledged (%d pairs)", trnm.value, group, len(pairs))
