"""A request uvicorn's parser refuses (here a raw UTF-8 byte in the URL) is answered
in our JSON error shape, by the protocol and by ``quantum run`` itself; a
percent-encoded URL reaches the app as before."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from tests.integration.cluster.processes import Service
from tests.integration.serving import ServedApp, raw_http, serve_in_thread

from quantum.http_protocol import JsonErrorHttpProtocol

RAW_QUERY = "GET /api/v1/stocks?query=삼성 HTTP/1.1\r\nHost: test\r\n\r\n".encode()


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"query": request.query_params.get("query")})


@pytest.fixture
def served() -> Iterator[ServedApp]:
    app = Starlette(routes=[Route("/api/v1/stocks", echo)])
    served = serve_in_thread(app, http=JsonErrorHttpProtocol)
    try:
        yield served
    finally:
        served.stop()


def assert_json_bad_request(status: int, headers: dict[str, str], body: bytes) -> None:
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    error = json.loads(body)["error"]
    assert error["code"] == "bad_request" and "percent-encoded" in error["message"]


def test_an_unparsable_request_gets_the_json_error(served: ServedApp) -> None:
    assert_json_bad_request(*raw_http(served.base_url, RAW_QUERY))
    encoded = httpx.get(f"{served.base_url}/api/v1/stocks", params={"query": "삼성"})
    assert encoded.status_code == 200 and encoded.json() == {"query": "삼성"}


def test_the_platform_process_answers_it_in_json(tmp_path: Path) -> None:
    args = ["run", "--data-dir", str(tmp_path / "data")]
    # its own simulator on a free port: 8200 may be a running `make run`'s
    platform = Service("platform", args, {"QTP_SIMULATOR_PORT": "0"}, tmp_path)
    platform.start()
    try:
        assert_json_bad_request(*raw_http(platform.url, RAW_QUERY))
    finally:
        platform.stop()
