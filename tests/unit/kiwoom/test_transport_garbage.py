"""A call that succeeds at once leaves no reference cycles behind: under load,
cyclic garbage is what makes the collector pause the event loop (tenacity's
per-call objects cost a 6 ms pause every few hundred calls)."""

from __future__ import annotations

import gc
from collections.abc import Mapping

import orjson

from quantum.kiwoom.http import HttpAnswer, Params
from quantum.kiwoom.settings import KiwoomSettings
from quantum.kiwoom.transport import KiwoomTransport


class Answering:
    """An HttpClient that answers every TR, and au10001 with a day-long token."""

    is_closed = False

    async def request(
        self,
        method: str,
        url: str,
        payload: bytes | None,
        headers: Mapping[str, str],
        params: Params | None = None,
    ) -> HttpAnswer:
        if url.endswith("/oauth2/token"):
            body = {"token": "T" * 40, "expires_dt": "20991231000000", "return_code": 0}
        else:
            body = {"stk_cd": "005930", "return_code": 0, "return_msg": "ok"}
        return HttpAnswer(200, {"content-type": "application/json"}, orjson.dumps(body))

    async def aclose(self) -> None:
        self.is_closed = True


async def test_successful_calls_leave_no_cyclic_garbage() -> None:
    settings = KiwoomSettings.for_url(
        "http://127.0.0.1:9", "app-key", "app-secret", rate_limit_enabled=False
    )
    transport = KiwoomTransport(settings, http=Answering())
    await transport.call("ka10001", {"stk_cd": "005930"})  # the token, once
    gc.collect()
    gc.disable()
    try:
        for _ in range(50):
            await transport.call("ka10001", {"stk_cd": "005930"})
        left = gc.collect()
    finally:
        gc.enable()
    await transport.aclose()
    assert left < 50, f"{left} objects in reference cycles after 50 calls"
