"""Shared benchmark plumbing: a free loopback port and a server subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def simulator_process(config: dict[str, Any], ready_timeout: float = 60.0) -> Iterator[str]:
    """Run ``quantum simulator`` with ``config`` in a subprocess; yields its base URL."""
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "simulator.json"
        path.write_text(json.dumps({**config, "host": "127.0.0.1", "port": port}))
        command = [sys.executable, "-m", "quantum.cli", "simulator", "--config", str(path)]
        process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base, process, ready_timeout)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"simulator exited early:\n{error}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/_sim/state", timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise TimeoutError("simulator did not start")


def children() -> dict[int, bytes]:
    """This process's child processes: {pid: command line, NUL-separated}."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            with open(f"/proc/{entry}/stat", encoding="ascii") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            if ppid == os.getpid():
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    found[int(entry)] = handle.read()
    return found


def child_pid(argument: bytes) -> int | None:
    """The child process with ``argument`` on its command line (``b"simulator"``,
    ``b"run"``: a ``quantum`` subcommand)."""
    for pid, command in children().items():
        if argument in command.split(b"\0"):
            return pid
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` so far (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def python_loop_ms(iterations: int = 10_000_000) -> float:
    """How long a fixed pure-Python loop takes here now: a yardstick for figures taken
    on a shared machine whose speed drifts (this loop took 272 to 722 ms from one run
    to the next on this project's 2-core machine)."""
    started = time.perf_counter()
    total = 0
    for number in range(iterations):
        total += number
    return (time.perf_counter() - started) * 1000


def report(name: str, value: float, unit: str) -> None:
    """One figure per line: ``name: value unit`` (counts as integers)."""
    if isinstance(value, int) or value >= 100:
        print(f"{name}: {value:.0f} {unit}", flush=True)
    else:
        print(f"{name}: {value:.2f} {unit}", flush=True)


SERVICE_ENV_CLEARED = ("DATABASE_URL", "REDIS_URL", "QTP_SIMULATOR_URL", "QTP_SIMULATOR")
"""Variables of the caller's shell that would change what a service does (and every
``KIWOOM_*`` one): benchmarks and tests set what they measure themselves."""


def service_env(env: dict[str, str]) -> dict[str, str]:
    """The caller's environment without :data:`SERVICE_ENV_CLEARED` and ``KIWOOM_*``,
    unbuffered output, and ``env`` on top."""
    cleaned = {
        k: v
        for k, v in os.environ.items()
        if k not in SERVICE_ENV_CLEARED and not k.startswith("KIWOOM_")
    }
    return {**cleaned, "PYTHONUNBUFFERED": "1", **env}


def wait_healthy(
    name: str,
    url: str,
    process: subprocess.Popen[bytes],
    timeout: float,
    log_tail: Callable[[], str],
) -> None:
    """Return once ``url`` answers 200; ``RuntimeError`` (with ``log_tail()``) if
    ``name``'s process exits first, ``TimeoutError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited early ({process.returncode}):\n{log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name}: no answer from {url} in {timeout} s:\n{log_tail()}")
        time.sleep(0.05)


@contextlib.contextmanager
def quantum_process(
    args: list[str],
    env: dict[str, str],
    *,
    log_path: Path | None = None,
    ready_timeout: float = 90.0,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``quantum <args> --port <free port>`` with ``env`` on top of
    :func:`service_env`; yields (base URL, process) once ``/health`` answers. Output
    goes to ``log_path`` (default: discarded)."""
    port = free_port()
    command = [sys.executable, "-m", "quantum.cli", *args, "--port", str(port)]

    def log_tail() -> str:
        return log_path.read_text(errors="replace")[-4000:] if log_path else ""

    with contextlib.ExitStack() as stack:
        output: Any = subprocess.DEVNULL
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            output = stack.enter_context(log_path.open("wb"))
        process = subprocess.Popen(
            command, env=service_env(env), stdout=output, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(f"quantum {args[0]}", f"{base}/health", process, ready_timeout, log_tail)
            yield base, process
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@contextlib.contextmanager
def platform_process(
    data_dir: Path,
    env: dict[str, str],
    *,
    demo: bool = False,
    log_path: Path | None = None,
    ready_timeout: float = 90.0,
) -> Iterator[str]:
    """``quantum run`` with ``data_dir`` (see :func:`quantum_process`); yields its URL."""
    args = ["run", "--data-dir", str(data_dir), *(["--demo"] if demo else [])]
    with quantum_process(args, env, log_path=log_path, ready_timeout=ready_timeout) as (base, _):
        yield base


async def client_window(
    tasks: list[asyncio.Task[None]],
    window: list[float],
    *,
    settled: Callable[[], bool],
    ready_line: Callable[[], str],
    linger: float,
) -> float:
    """The client-worker side of a measured window (bench.fanout, bench.scaleout): once
    ``settled()`` (at most 120 s) print ``ready_line()``; read the window's start and end
    (epoch seconds) from stdin into ``window``, which the clients check; sleep through
    it; cancel ``tasks`` ``linger`` seconds after it. Returns the CPU seconds it took."""
    for _ in range(2400):  # 120 s at most; the clients report by counters, not events
        if settled():
            break
        await asyncio.sleep(0.05)
    print(ready_line(), flush=True)
    line = await asyncio.to_thread(sys.stdin.readline)
    window[0], window[1] = (float(x) for x in line.split())
    await asyncio.sleep(max(0.0, window[0] - time.time()))
    cpu_start = time.process_time()
    await asyncio.sleep(max(0.0, window[1] - time.time()))
    cpu = time.process_time() - cpu_start
    await asyncio.sleep(linger)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return cpu
