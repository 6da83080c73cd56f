"""The time-and-sales per stock, kept for ka10079 (tick charts).

The market announces every print to its step listeners; this numbers them and
keeps the most recent ones per stock in a bounded deque, plus the number of
each day's first print so tick groups can be counted from the day's start.
"""

from __future__ import annotations

from collections import deque
from datetime import date

from quantum.simulator.market import Market, StockState, Trade

TAPE_LENGTH = 30_000

Print = tuple[int, Trade]
"""(sequence number within the stock, trade)."""


class Tape:
    def __init__(self, market: Market, length: int = TAPE_LENGTH) -> None:
        self._length = length
        self._prints: dict[str, deque[Print]] = {}
        self._next_seq: dict[str, int] = {}
        self._day_start: dict[tuple[str, date], int] = {}
        market.add_step_listener(self._on_step)

    def _on_step(self, code: str, state: StockState, trade: Trade | None) -> None:
        if trade is None:
            return
        prints = self._prints.get(code)
        if prints is None:
            prints = self._prints[code] = deque(maxlen=self._length)
        seq = self._next_seq.get(code, 0)
        self._next_seq[code] = seq + 1
        self._day_start.setdefault((code, trade.at.date()), seq)
        prints.append((seq, trade))

    def prints(self, code: str) -> list[Print]:
        """Oldest first."""
        return list(self._prints.get(code, ()))

    def day_start(self, code: str, day: date) -> int:
        """The sequence number of ``day``'s first print of ``code``."""
        return self._day_start[(code, day)]
