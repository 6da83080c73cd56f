"""The simulator as one object: clock, calendar, market, engine, keys, tokens,
rate limits, faults and realtime hub, plus the ticker that drives them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from typing import TYPE_CHECKING

from quantum.krx.sessions import KrxCalendar
from quantum.simulator.clock import SimClock
from quantum.simulator.config import SimulatorConfig, load_key_file
from quantum.simulator.engine import FeeSchedule, TradingEngine
from quantum.simulator.faults import FaultInjector
from quantum.simulator.hub import RealtimeHub
from quantum.simulator.keys import KeyRegistry
from quantum.simulator.listings import load_listings
from quantum.simulator.market import Market
from quantum.simulator.ratelimit import RateLimiter
from quantum.simulator.stats import PriceStats
from quantum.simulator.tape import Tape
from quantum.simulator.tokens import TokenStore

if TYPE_CHECKING:
    from quantum.simulator.ws import Session

log = logging.getLogger(__name__)


class Simulator:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.clock = SimClock(config.clock, config.start, config.clock_speed)
        self.calendar = KrxCalendar()
        self.listings = load_listings()
        self.market = Market(
            self.listings,
            self.calendar,
            self.clock,
            config.seed,
            step_seconds=config.step_seconds,
            liquidity_scale=config.liquidity_scale,
            history_years=config.history_years,
        )
        fees = FeeSchedule(
            commission_rate=config.fees.commission_rate,
            sell_tax_rate=config.fees.sell_tax_rate,
            commission_unit=config.fees.commission_unit,
        )
        self.engine = TradingEngine(self.market, self.calendar, self.clock, fees)
        allowed = load_key_file(config.key_file) if config.key_file is not None else None
        self.keys = KeyRegistry(
            config.mode, config.starting_cash, self.engine.open_account, allowed
        )
        self.tokens = TokenStore(self.clock, config.token_lifetime_seconds)
        self.limiter = RateLimiter(
            config.rate_per_second,
            config.rate_limit.burst,
            config.rate_limit.global_per_second,
            enabled=config.rate_limit.enabled,
        )
        self.faults = FaultInjector(config.faults)
        self.tape = Tape(self.market)
        self.stats = PriceStats(self.market)
        self.hub = RealtimeHub(self)
        self.requests: Counter[str] = Counter()
        self.ws_messages: Counter[str] = Counter()
        """WebSocket REG / REMOVE messages received (tests count upstream churn)."""
        self.ws_items: Counter[str] = Counter()
        """(item, type) pairs named in REG / REMOVE messages, market types only."""
        self.book_snapshots: dict[str, tuple[dict[int, int], dict[int, int]]] = {}
        self._ticker: asyncio.Task[None] | None = None

    def count_request(self, api_id: str) -> None:
        self.requests[api_id] += 1

    def sessions(self) -> list[Session]:
        from quantum.simulator.ws import Session

        return [s for s in self.hub.subscribers if isinstance(s, Session)]

    def sessions_for(self, app_key: str) -> list[Session]:
        return [s for s in self.sessions() if s.key is not None and s.key.app_key == app_key]

    def tick(self) -> int:
        """One beat: session transitions and resting orders, then realtime delivery."""
        self.engine.sync()
        return self.hub.pump()

    async def _run_ticker(self) -> None:
        interval = self.config.websocket.push_interval_seconds
        while True:
            try:
                self.tick()
            except Exception:
                log.exception("simulator tick failed")
            await asyncio.sleep(interval)

    def start(self) -> None:
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._run_ticker(), name="simulator-ticker")

    async def stop(self) -> None:
        for session in self.sessions():
            session.close_soon(1001)
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
