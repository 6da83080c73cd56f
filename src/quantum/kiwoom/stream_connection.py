"""One socket of a :class:`~quantum.kiwoom.stream.KiwoomStream` (its LOGIN answer and
its one outstanding REG/REMOVE answer) and the stream's errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from websockets.asyncio.client import ClientConnection

from quantum.kiwoom.exceptions import return_code_of

log = logging.getLogger(__name__)

__all__ = [
    "ConnectionLost",
    "LoginRefused",
    "RegistrationError",
    "StreamClosedError",
    "StreamConnection",
    "StreamError",
    "StreamLoginError",
    "answer_code",
]


# --------------------------------------------------------------------------- errors


class StreamError(Exception):
    """Base class of the realtime client's errors."""


class StreamLoginError(StreamError):
    """The server refused LOGIN, even with a freshly issued token."""

    def __init__(self, return_code: int, message: str) -> None:
        super().__init__(f"realtime LOGIN refused: return_code={return_code} {message}".rstrip())
        self.return_code = return_code
        self.message = message


class RegistrationError(StreamError):
    """A REG or REMOVE was answered with a non-zero ``return_code``."""

    def __init__(self, trnm: str, group: str, return_code: int, message: str) -> None:
        super().__init__(
            f"{trnm} (grp_no={group}) refused: return_code={return_code} {message}".rstrip()
        )
        self.trnm = trnm
        self.group = group
        self.return_code = return_code
        self.message = message


class StreamClosedError(StreamError):
    """The stream is closed (``close()`` was called or it failed for good)."""


class ConnectionLost(Exception):
    """The socket a request was waiting on went away; retry on the next one."""


class LoginRefused(Exception):
    def __init__(self, return_code: int, message: str) -> None:
        super().__init__(return_code, message)
        self.return_code = return_code
        self.message = message


# --------------------------------------------------------------------------- connection


class StreamConnection:
    """One socket: its reader and stall watchdog, the LOGIN answer and the
    single outstanding REG/REMOVE answer."""

    def __init__(self, ws: ClientConnection, number: int) -> None:
        loop = asyncio.get_running_loop()
        self.ws = ws
        self.number = number
        self.last_frame = loop.time()
        self.login: asyncio.Future[dict[str, Any]] = loop.create_future()
        self.done: asyncio.Future[str] = loop.create_future()
        self.ack: tuple[str, asyncio.Future[dict[str, Any]]] | None = None
        self.stalled = False
        self.tasks: list[asyncio.Task[None]] = []

    @property
    def finished(self) -> bool:
        return self.done.done()

    def finish(self, reason: str) -> None:
        if self.done.done():
            return
        self.done.set_result(reason)
        if not self.login.done():
            self.login.set_exception(ConnectionLost(reason))
            self.login.exception()  # mark retrieved: nobody may be waiting any more
        self.fail_ack(reason)

    def expect_ack(self, trnm: str) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.ack = (trnm, future)
        return future

    def resolve_ack(self, trnm: str, message: dict[str, Any]) -> None:
        if self.ack is None or self.ack[0] != trnm or self.ack[1].done():
            log.debug("ignoring an unexpected %s answer", trnm)
            return
        self.ack[1].set_result(message)
        self.ack = None

    def fail_ack(self, reason: str) -> None:
        if self.ack is not None and not self.ack[1].done():
            self.ack[1].set_exception(ConnectionLost(reason))
        self.ack = None


def answer_code(message: Mapping[str, Any]) -> int:
    """An answer's ``return_code`` (a missing or garbled one counts as a failure)."""
    code = return_code_of(message)
    return 1 if code is None else code
