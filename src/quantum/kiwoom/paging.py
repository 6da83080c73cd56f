"""Continuation over ``cont-yn`` / ``next-key`` (PROTOCOL.md §3).

Pagination lives only in the response headers: the same body is sent again
with ``cont-yn: Y`` and the previous ``next-key`` until ``cont-yn`` is ``N``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from typing import Any, Protocol

from quantum.kiwoom.endpoints import TRS
from quantum.kiwoom.exceptions import KiwoomError
from quantum.kiwoom.transport import RawResponse

__all__ = ["PageSource", "iterate_pages", "iterate_rows"]


class PageSource(Protocol):
    """What the iterators need (a :class:`~quantum.kiwoom.transport.KiwoomTransport`)."""

    async def call(
        self, api_id: str, body: Mapping[str, Any], *, next_key: str | None = None
    ) -> RawResponse: ...


async def iterate_pages(
    transport: PageSource,
    api_id: str,
    body: Mapping[str, Any],
    *,
    max_pages: int | None = None,
) -> AsyncGenerator[RawResponse, None]:
    """Every page of one query, first to last, at most ``max_pages`` of them."""
    if max_pages is not None and max_pages <= 0:
        return
    request = dict(body)
    next_key: str | None = None
    seen: set[str] = set()
    pages = 0
    while True:
        page = await transport.call(api_id, request, next_key=next_key)
        pages += 1
        yield page
        if not page.cont_yn or not page.next_key:
            return
        if max_pages is not None and pages >= max_pages:
            return
        if page.next_key in seen:
            raise KiwoomError(api_id, None, "next-key repeated: continuation does not advance")
        seen.add(page.next_key)
        next_key = page.next_key


async def iterate_rows(
    transport: PageSource,
    api_id: str,
    body: Mapping[str, Any],
    list_key: str | None = None,
    *,
    max_rows: int | None = None,
    max_pages: int | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """The rows under ``list_key`` (default: the TR table's) across pages.

    Stops after ``max_rows`` rows or ``max_pages`` pages, whichever comes first;
    no page is fetched that is not needed.
    """
    key = list_key or _list_key(api_id)
    if max_rows is not None and max_rows <= 0:
        return
    count = 0
    async with aclosing(iterate_pages(transport, api_id, body, max_pages=max_pages)) as pages:
        async for page in pages:
            rows = page.body.get(key)
            if rows is None:
                continue
            if not isinstance(rows, list):
                raise KiwoomError(api_id, None, f"{key} is not a list")
            for row in rows:
                if isinstance(row, dict):
                    yield row
                    count += 1
                    if max_rows is not None and count >= max_rows:
                        return


def _list_key(api_id: str) -> str:
    spec = TRS.get(api_id)
    if spec is None or spec.list_key is None:
        raise ValueError(f"{api_id} has no list key in endpoints.TRS; pass list_key")
    return spec.list_key
