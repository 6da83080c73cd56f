"""A tiny synchronous Kiwoom WebSocket client for tests."""

from __future__ import annotations

import json
import time
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect


class KiwoomSocket:
    def __init__(self, url: str) -> None:
        self.conn: ClientConnection = connect(url, open_timeout=10, max_size=None).__enter__()
        self.frames: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.conn.send(json.dumps(message))

    def recv(self, timeout: float = 10.0) -> dict[str, Any]:
        frame = json.loads(self.conn.recv(timeout=timeout))
        assert isinstance(frame, dict)
        self.frames.append(frame)
        return frame

    def login(self, token: str) -> dict[str, Any]:
        """LOGIN and return its answer, skipping SYSTEM frames that may come first."""
        self.send({"trnm": "LOGIN", "token": token})
        return self.wait_for(lambda f: f.get("trnm") == "LOGIN")

    def wait_for(
        self, predicate: Any, timeout: float = 10.0, echo_pings: bool = True
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no matching frame")
            frame = self.recv(remaining)
            if echo_pings and frame.get("trnm") == "PING":
                self.send(frame)
                continue
            if predicate(frame):
                return frame

    def real_entries(self, type_code: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        frame = self.wait_for(
            lambda f: f.get("trnm") == "REAL" and any(e["type"] == type_code for e in f["data"]),
            timeout,
        )
        return [entry for entry in frame["data"] if entry["type"] == type_code]

    def closed_within(self, timeout: float, echo_pings: bool = False) -> bool:
        """True when the server closes the socket within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                frame = self.recv(max(0.01, deadline - time.monotonic()))
                if echo_pings and frame.get("trnm") == "PING":
                    self.send(frame)
        except ConnectionClosed:
            return True
        except TimeoutError:
            return False
        return False

    def close(self) -> None:
        self.conn.close()
