"""The day's time-and-sales per stock, kept for ka10079 (tick charts).

The market announces every print to its step listeners; this keeps the most
recent ones per stock in a bounded deque.
"""

from __future__ import annotations

from collections import deque

from quantum.simulator.market import Market, StockState, Trade

TAPE_LENGTH = 30_000


class Tape:
    def __init__(self, market: Market, length: int = TAPE_LENGTH) -> None:
        self._length = length
        self._trades: dict[str, deque[Trade]] = {}
        market.add_step_listener(self._on_step)

    def _on_step(self, code: str, state: StockState, trade: Trade | None) -> None:
        if trade is None:
            return
        trades = self._trades.get(code)
        if trades is None:
            trades = self._trades[code] = deque(maxlen=self._length)
        trades.append(trade)

    def trades(self, code: str) -> list[Trade]:
        """Oldest first."""
        return list(self._trades.get(code, ()))
