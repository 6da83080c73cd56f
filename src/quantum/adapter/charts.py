"""Chart periods → the Kiwoom chart TRs, and the chart service with its candle cache."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Final

from quantum.adapter import convert
from quantum.adapter.broker import BrokerInputError
from quantum.adapter.cache import CandleCache
from quantum.adapter.schema import Candle, Chart, Period
from quantum.kiwoom.client import KiwoomClient

PERIOD_CHARTS: Final = {
    Period.DAY: ("daily_chart", "ka10081"),
    Period.WEEK: ("weekly_chart", "ka10082"),
    Period.MONTH: ("monthly_chart", "ka10083"),
    Period.YEAR: ("yearly_chart", "ka10094"),
}
MINUTE_PERIODS: Final = {
    Period.MIN_1: 1,
    Period.MIN_5: 5,
    Period.MIN_10: 10,
    Period.MIN_30: 30,
    Period.MIN_60: 60,
}
MAX_COUNT: Final = 10_000


def parse_period(value: str) -> Period:
    try:
        return Period(value)
    except ValueError:
        allowed = ", ".join(p.value for p in Period)
        raise BrokerInputError(f"unknown chart period {value!r}; one of {allowed}") from None


def api_id_for(period: Period) -> str:
    """The Kiwoom TR that serves ``period``."""
    if period in MINUTE_PERIODS:
        return "ka10080"
    return PERIOD_CHARTS[period][1]


async def fetch_candles(
    client: KiwoomClient,
    stock_code: str,
    period: Period,
    *,
    max_rows: int,
    until: date | None,
    today: date,
) -> list[Candle]:
    """The newest ``max_rows`` candles of ``period`` up to ``until``, oldest first."""
    if period in MINUTE_PERIODS:
        rows = await client.minute_chart(
            stock_code, MINUTE_PERIODS[period], base_date=until, max_rows=max_rows
        )
    else:
        method = getattr(client, PERIOD_CHARTS[period][0])
        rows = await method(stock_code, until or today, max_rows=max_rows)
    return [convert.candle(row) for row in rows][-max_rows:]


ChartKey = tuple[str, str, Period, date | None]


class ChartService:
    """Charts with completed candles cached per (app key, code, period, until)."""

    def __init__(self, today: Callable[[], date], *, ttl: float = 1.0) -> None:
        self._today = today
        self.cache: CandleCache[ChartKey] = CandleCache(ttl)

    async def chart(
        self,
        fingerprint: str,
        client: KiwoomClient,
        stock_code: str,
        period: Period,
        *,
        count: int,
        until: date | None,
    ) -> Chart:
        async def fetch(max_rows: int) -> list[Candle]:
            return await fetch_candles(
                client, stock_code, period, max_rows=max_rows, until=until, today=self._today()
            )

        key: ChartKey = (fingerprint, stock_code, period, until)
        candles = await self.cache.get(key, count, fetch)
        return Chart(stock_code=stock_code, period=period, candles=candles)
