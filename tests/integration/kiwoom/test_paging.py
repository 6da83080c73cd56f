"""Continuation over cont-yn / next-key against the simulator's daily chart
(5 years of rows, 600 per page; PROTOCOL.md §3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import pytest
from tests.integration.kiwoom.conftest import Harness, RunningSimulator, sim_state

from quantum.kiwoom.exceptions import KiwoomError
from quantum.kiwoom.paging import iterate_pages, iterate_rows
from quantum.kiwoom.transport import RawResponse

DAILY = {"stk_cd": "005930", "base_dt": "20261124", "upd_stkpc_tp": "1"}
LIST_KEY = "stk_dt_pole_chart_qry"
PAGE = 600


def _chart_requests(running: RunningSimulator) -> int:
    return int(sim_state(running)["requests"].get("ka10081", 0))


class Sent:
    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        self.bodies: list[bytes] = []

    async def __call__(self, request: object) -> None:
        import httpx

        assert isinstance(request, httpx.Request)
        if request.headers.get("api-id") == "ka10081":
            self.headers.append(dict(request.headers))
            self.bodies.append(request.content)


async def test_pages_walk_back_five_years(simulator: RunningSimulator, harness: Harness) -> None:
    sent = Sent()
    transport = harness.transport(simulator, event_hooks={"request": [sent]})
    pages: list[RawResponse] = [page async for page in iterate_pages(transport, "ka10081", DAILY)]
    sizes = [len(page.body[LIST_KEY]) for page in pages]
    assert len(pages) >= 3 and all(size == PAGE for size in sizes[:-1]) and 0 < sizes[-1] <= PAGE
    assert [page.cont_yn for page in pages] == [True] * (len(pages) - 1) + [False]
    dates = [row["dt"] for page in pages for row in page.body[LIST_KEY]]
    assert dates == sorted(dates, reverse=True) and len(set(dates)) == len(dates)
    assert dates[0] == "20261124" and dates[-1] < "20220101", "about five years"
    # the same body every time; cont-yn/next-key copied from the previous answer
    assert len(set(sent.bodies)) == 1 and orjson.loads(sent.bodies[0]) == DAILY
    assert "cont-yn" not in sent.headers[0]
    for previous, headers in zip(pages, sent.headers[1:], strict=False):
        assert headers["cont-yn"] == "Y" and headers["next-key"] == previous.next_key
    assert _chart_requests(simulator) == len(pages)


async def test_rows_and_limits(simulator: RunningSimulator, harness: Harness) -> None:
    transport = harness.transport(simulator)
    every = [row async for row in iterate_rows(transport, "ka10081", DAILY, LIST_KEY)]
    calls = _chart_requests(simulator)
    assert len(every) > 2 * PAGE

    two_pages = [row async for row in iterate_rows(transport, "ka10081", DAILY, max_pages=2)]
    assert two_pages == every[: 2 * PAGE]
    assert _chart_requests(simulator) == calls + 2

    some = [row async for row in iterate_rows(transport, "ka10081", DAILY, LIST_KEY, max_rows=700)]
    assert some == every[:700]
    assert _chart_requests(simulator) == calls + 4

    one_page = [row async for row in iterate_rows(transport, "ka10081", DAILY, max_rows=PAGE)]
    assert len(one_page) == PAGE and _chart_requests(simulator) == calls + 5, "no extra page"

    pages = [p async for p in iterate_pages(transport, "ka10081", DAILY, max_pages=1)]
    assert len(pages) == 1 and pages[0].cont_yn
    assert [r async for r in iterate_rows(transport, "ka10081", DAILY, max_rows=0)] == []
    assert _chart_requests(simulator) == calls + 6


async def test_single_page_queries_stop_at_cont_yn_n(
    simulator: RunningSimulator, harness: Harness
) -> None:
    transport = harness.transport(simulator)
    pages = [p async for p in iterate_pages(transport, "ka10001", {"stk_cd": "005930"})]
    assert len(pages) == 1 and not pages[0].cont_yn


class LoopingSource:
    """A server whose next-key never advances."""

    def __init__(self) -> None:
        self.calls: list[str | None] = []

    async def call(
        self, api_id: str, body: Mapping[str, Any], *, next_key: str | None = None
    ) -> RawResponse:
        self.calls.append(next_key)
        return RawResponse(api_id, {LIST_KEY: [{"dt": "20261124"}]}, True, "same", 200)


async def test_a_next_key_that_does_not_advance_is_an_error() -> None:
    source = LoopingSource()
    with pytest.raises(KiwoomError, match="next-key repeated"):
        async for _ in iterate_pages(source, "ka10081", DAILY):
            pass
    assert source.calls == [None, "same"]
    limited = [p async for p in iterate_pages(LoopingSource(), "ka10081", DAILY, max_pages=1)]
    assert len(limited) == 1
