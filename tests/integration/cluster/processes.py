"""The platform's services as real processes on loopback (what deploy/'s compose file
runs, natively): started, killed and restarted by the scale-out tests."""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench._harness import service_env, wait_healthy
from tests.integration.serving import free_port

from quantum.kiwoom.wire import KST
from quantum.krx.sessions import KrxCalendar, Phase


def market_time() -> str:
    """An hour after the open (10:00 KST on a normal day) of the latest trading day on
    which that hour has passed: inside the continuous session, away from the auctions
    (where an upper-limit buy does not fill at once), whatever the hour the tests run
    at; and never ahead of the wall clock, at most a long holiday behind it, so an
    adapter (which keeps wall-clock time) finds the simulator's tokens (thirty days'
    lifetime in these tests) valid."""
    now = datetime.now(UTC)
    calendar = KrxCalendar()
    day = now.astimezone(KST).date()
    while True:
        schedule = calendar.schedule(day)
        if schedule is not None:
            start = schedule.open + timedelta(hours=1)
            if start <= now:
                assert calendar.phases_at(start) == {Phase.CONTINUOUS}, start
                return start.isoformat()
        day = calendar.previous_trading_day(day)


@dataclass
class Service:
    """One process of ``quantum <command>`` on a fixed loopback port."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_dir: Path
    health: str = "/health"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, ready_timeout: float = 60.0) -> Service:
        self.starts += 1
        log = (self.log_dir / f"{self.name}-{self.starts}.log").open("wb")
        command = [sys.executable, "-m", "quantum.cli", *self.args, "--port", str(self.port)]
        self.process = subprocess.Popen(
            command, env=service_env(self.env), stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        wait_healthy(self.name, self.url + self.health, self.process, ready_timeout, self.log_tail)
        return self

    def log_tail(self, size: int = 3000) -> str:
        path = self.log_dir / f"{self.name}-{self.starts}.log"
        return path.read_text(errors="replace")[-size:] if path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown at all, like a crashed host."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
