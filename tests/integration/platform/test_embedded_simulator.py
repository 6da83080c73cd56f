"""The built-in simulator (``make run``) keeps idle connections open longer than the
Kiwoom transport does: were both to give up at the same moment, an order written
into a connection the server was closing would end "disconnected without a
response", an unknown outcome."""

from __future__ import annotations

import socket
import time

from quantum.kiwoom.http import KEEPALIVE_SECONDS
from quantum.platform.embedded import EmbeddedSimulator
from quantum.simulator.config import load_config

REQUEST = b"GET /nothing-here HTTP/1.1\r\nHost: simulator\r\n\r\n"
"""Any answer will do (a 404): what is tested is the connection."""


def _answer(sock: socket.socket) -> bytes:
    sock.sendall(REQUEST)
    return sock.recv(65536)


def test_an_idle_connection_outlives_the_clients_keep_alive() -> None:
    simulator = EmbeddedSimulator.start(load_config(None, host="127.0.0.1", port=0))
    try:
        assert simulator.server.config.timeout_keep_alive > KEEPALIVE_SECONDS
        host, port = simulator.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            assert _answer(sock).startswith(b"HTTP/1.1 404")
            time.sleep(KEEPALIVE_SECONDS + 0.5)  # the transport has dropped it by now
            assert _answer(sock).startswith(b"HTTP/1.1 404")  # the server has not
    finally:
        simulator.stop()
