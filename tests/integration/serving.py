"""Serving an ASGI app on a free loopback port from a background thread, for
integration tests that need a real server (WebSocket clients, several apps)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from bench._harness import free_port

__all__ = ["ServedApp", "free_port", "serve_in_thread"]


@dataclass
class ServedApp:
    server: Any
    thread: threading.Thread
    base_url: str

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def serve_in_thread(
    app: Any, name: str = "server", ready_timeout: float = 30.0, **options: Any
) -> ServedApp:
    """Start uvicorn for ``app`` (``options``: more of ``uvicorn.Config``'s) and wait
    until it accepts connections."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            **({"log_level": "warning", "ws": "websockets-sansio"} | options),
        )
    )
    thread = threading.Thread(target=server.run, daemon=True, name=name)
    thread.start()
    deadline = time.monotonic() + ready_timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"{name} did not start")
        time.sleep(0.01)
    return ServedApp(server, thread, f"http://127.0.0.1:{port}")


def raw_http(base_url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as it is (what an HTTP client would refuse to) and read the
    answer of a server that closes the connection after it: (status, headers, body)."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (x.partition(":") for x in lines)}
    return int(status_line.split()[1]), headers, body
