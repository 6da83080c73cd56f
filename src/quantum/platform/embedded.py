"""The built-in simulator, served on loopback from a thread of the platform's
process, so the platform's Kiwoom client talks real HTTP and WebSocket to it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import uvicorn

from quantum.platform.settings import PlatformSettings
from quantum.serving import KEEP_ALIVE_SECONDS
from quantum.simulator.app import create_app
from quantum.simulator.config import SimulatorConfig, load_config


def simulator_config(settings: PlatformSettings) -> SimulatorConfig:
    """The simulator's options from the platform's ``QTP_SIMULATOR_*`` settings."""
    return load_config(
        settings.simulator_config,
        host="127.0.0.1",
        port=settings.simulator_port,
        seed=settings.simulator_seed,
        clock=settings.simulator_clock,
        start=settings.simulator_start,
    )


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


@dataclass
class EmbeddedSimulator:
    server: uvicorn.Server
    thread: threading.Thread
    url: str
    clock: Callable[[], datetime]
    """The simulated market's time (what SIMULATOR accounts trade and expire by)."""

    @classmethod
    def start(cls, config: SimulatorConfig, ready_timeout: float = 60.0) -> EmbeddedSimulator:
        """Bind first (port 0 picks a free one), then serve from a daemon thread."""
        sock = _bind(config.host, config.port)
        host, port = sock.getsockname()[:2]
        app = create_app(config)
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                log_level="warning",
                ws="websockets-sansio",
                access_log=False,
                timeout_keep_alive=KEEP_ALIVE_SECONDS,
                timeout_graceful_shutdown=3,
            )
        )
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="simulator"
        )
        thread.start()
        deadline = time.monotonic() + ready_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the built-in simulator did not start")
            time.sleep(0.01)
        return cls(server, thread, f"http://{host}:{port}", app.state.sim.clock.now)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def follow_simulator_clock(url: str, timeout: float = 5.0) -> Callable[[], datetime] | None:
    """The clock of a simulator running elsewhere (``QTP_SIMULATOR_URL``), read once from
    its control endpoint and then followed locally: real and fast clocks run on from
    the offset, a fixed clock stays where it was read. None when the host has no
    control endpoint (any other Kiwoom-compatible server): then the wall clock."""
    try:
        answer = httpx.get(f"{url.rstrip('/')}/_sim/state", timeout=timeout)
        clock = answer.json()["clock"]
        sim_now = datetime.fromisoformat(clock["now"])
        mode, speed = str(clock["mode"]), float(clock.get("speed", 1.0))
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None
    anchor = time.monotonic()
    if mode == "fixed":
        return lambda: sim_now
    rate = speed if mode == "fast" else 1.0
    return lambda: sim_now + timedelta(seconds=(time.monotonic() - anchor) * rate)
