"""The ``quantum`` command: the simulator starts from the command line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
from typer.testing import CliRunner

from quantum.cli import app


def test_simulator_help_lists_the_options() -> None:
    result = CliRunner().invoke(app, ["simulator", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--seed", "--mode", "--clock", "--start", "--config"):
        assert option in result.output


def test_bad_start_time_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["simulator", "--start", "yesterday"])
    assert result.exit_code == 2
    assert "ISO-8601" in result.output


def test_simulator_process_serves_tokens_and_quotes() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "quantum.cli",
        "simulator",
        "--port",
        str(port),
        "--seed",
        "3",
        "--mode",
        "mock",
        "--clock",
        "fixed",
        "--start",
        "2026-11-24T10:00:00+09:00",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=os.environ.copy()
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            try:
                state = httpx.get(f"{base}/_sim/state", timeout=1).json()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "simulator did not start"
                time.sleep(0.2)
        assert state["mode"] == "mock"
        assert state["clock"]["now"].startswith("2026-11-24T10:00:00")
        token = httpx.post(
            f"{base}/oauth2/token",
            json={"grant_type": "client_credentials", "appkey": "cli", "secretkey": "s"},
            timeout=30,
        ).json()["token"]
        quote = httpx.post(
            f"{base}/api/dostk/stkinfo",
            json={"stk_cd": "005930"},
            headers={"api-id": "ka10001", "authorization": f"Bearer {token}"},
            timeout=30,
        ).json()
        assert quote["return_code"] == 0 and quote["stk_nm"] == "삼성전자"
    finally:
        process.terminate()
        process.wait(15)
