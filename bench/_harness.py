"""Shared benchmark plumbing: a free loopback port and a server subprocess."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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


def report(name: str, value: float, unit: str) -> None:
    """One figure per line: ``name: value unit`` (counts as integers)."""
    if isinstance(value, int) or value >= 100:
        print(f"{name}: {value:.0f} {unit}", flush=True)
    else:
        print(f"{name}: {value:.2f} {unit}", flush=True)


PLATFORM_ENV_CLEARED = ("DATABASE_URL", "KIWOOM_ADAPTER_URL", "QTP_SIMULATOR_URL", "QTP_SIMULATOR")
"""Variables of the caller's shell that would change what a benchmark measures."""


@contextlib.contextmanager
def platform_process(
    data_dir: Path,
    env: dict[str, str],
    *,
    demo: bool = False,
    log_path: Path | None = None,
    ready_timeout: float = 90.0,
) -> Iterator[str]:
    """``quantum run`` on a free loopback port with ``env`` on top of a cleaned
    environment; yields its base URL once ``/health`` answers. Output goes to
    ``log_path`` (default: discarded)."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if k not in PLATFORM_ENV_CLEARED}
    full_env.update({"PYTHONUNBUFFERED": "1", **env})
    command = [sys.executable, "-m", "quantum.cli", "run", "--port", str(port)]
    command += ["--data-dir", str(data_dir), *(["--demo"] if demo else [])]
    with contextlib.ExitStack() as stack:
        output: Any = subprocess.DEVNULL
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            output = stack.enter_context(log_path.open("wb"))
        process = subprocess.Popen(command, env=full_env, stdout=output, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + ready_timeout
            while True:
                if process.poll() is not None:
                    tail = log_path.read_text(errors="replace")[-4000:] if log_path else ""
                    raise RuntimeError(f"the platform exited early ({process.returncode}):\n{tail}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the platform did not answer /health in {ready_timeout} s")
                time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
