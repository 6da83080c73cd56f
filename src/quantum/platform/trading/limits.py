"""Each stock's price limits for the trading day: the only part of a quote the
pre-trade checks use. KRX fixes them before the open (the day's base price
±30 %), so one quote per stock and day serves every order of the day; with
quotes cached for a second, one order in four of a trader waited for a quote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from quantum.adapter.broker import Broker, Credentials, quote_key
from quantum.kiwoom.wire import KST


@dataclass(frozen=True, slots=True)
class DayLimits:
    lower_limit: int
    upper_limit: int


class PriceLimits:
    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._known: dict[tuple[str, str], tuple[date, DayLimits]] = {}

    async def of(self, stock_code: str, credentials: Credentials, now: datetime) -> DayLimits:
        """The limits of ``stock_code`` on the trading day (KST) of the market's ``now``."""
        day = now.astimezone(KST).date()
        key = quote_key(stock_code, credentials)
        known = self._known.get(key)
        if known is not None and known[0] == day:
            return known[1]
        quote = await self._broker.quote(stock_code, credentials)
        limits = DayLimits(quote.lower_limit, quote.upper_limit)
        if limits.lower_limit > 0 and limits.upper_limit >= limits.lower_limit:
            self._known[key] = (day, limits)  # a quote without limits is not kept
        return limits
