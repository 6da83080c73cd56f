"""One stock's order book: resting user orders merged with the market maker's quotes.

User orders rest here in price-time priority; the market maker's quotes come
from :meth:`Market.liquidity` on every look, so the book never holds a stale
copy of them. :meth:`OrderBook.match` only *plans* executions; the engine
applies them (moving money, telling the market), so a fill-or-kill check or a
rejected order leaves everything untouched.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from quantum.simulator.engine.orders import Side
from quantum.simulator.market import Level, Liquidity


@dataclass(slots=True)
class Resting:
    """A user order's resting remainder."""

    order_no: str
    account_no: str
    side: Side
    price: int
    qty: int
    seq: int


@dataclass(frozen=True, slots=True)
class BookFill:
    """A planned execution against one resting user order or one market-maker level."""

    price: int
    qty: int
    order_no: str | None  # the resting user order hit; None = the market maker

    @property
    def market_maker(self) -> bool:
        return self.order_no is None


def crosses(side: Side, limit: int, price: int) -> bool:
    """Whether a ``side`` order limited at ``limit`` may trade at ``price``."""
    return price <= limit if side is Side.BUY else price >= limit


class OrderBook:
    """Resting user orders of one stock; matching and depth include the market maker."""

    def __init__(self, code: str, liquidity: Callable[[], Liquidity]) -> None:
        self.code = code
        self._liquidity = liquidity
        self._bids: list[Resting] = []  # best (highest) first, then oldest first
        self._asks: list[Resting] = []  # best (lowest) first, then oldest first
        self._by_no: dict[str, Resting] = {}
        self._seq = 0

    def __len__(self) -> int:
        return len(self._by_no)

    def __contains__(self, order_no: object) -> bool:
        return order_no in self._by_no

    def resting(self, side: Side) -> list[Resting]:
        """``side``'s resting orders in priority order (a copy)."""
        return list(self._bids if side is Side.BUY else self._asks)

    def __iter__(self) -> Iterator[Resting]:
        return iter([*self._bids, *self._asks])

    def add(self, order_no: str, account_no: str, side: Side, price: int, qty: int) -> None:
        """Rest ``qty`` at ``price`` behind everything already at that price."""
        if order_no in self._by_no:
            raise ValueError(f"order {order_no} already rests in {self.code}")
        if qty <= 0:
            raise ValueError(f"cannot rest {qty} shares")
        self._seq += 1
        entry = Resting(order_no, account_no, side, price, qty, self._seq)
        if side is Side.BUY:
            insort(self._bids, entry, key=lambda r: (-r.price, r.seq))
        else:
            insort(self._asks, entry, key=lambda r: (r.price, r.seq))
        self._by_no[order_no] = entry

    def reduce(self, order_no: str, qty: int) -> None:
        """Take ``qty`` off a resting order (a fill); it leaves the book at zero."""
        entry = self._by_no[order_no]
        if not 0 < qty <= entry.qty:
            raise ValueError(f"cannot take {qty} of {entry.qty} resting in {order_no}")
        entry.qty -= qty
        if entry.qty == 0:
            self.remove(order_no)

    def remove(self, order_no: str) -> int:
        """Take an order out of the book; returns its resting quantity (0 if absent)."""
        entry = self._by_no.pop(order_no, None)
        if entry is None:
            return 0
        (self._bids if entry.side is Side.BUY else self._asks).remove(entry)
        return entry.qty

    def match(
        self, side: Side, qty: int, limit_price: int | None, account_no: str
    ) -> list[BookFill]:
        """The executions a ``side`` order for ``qty`` would get right now, best price first.

        At one price, resting user orders (oldest first) trade before the market
        maker; the account's own orders are skipped (no self-trades). Nothing
        changes: the caller applies the fills.
        """
        fills: list[BookFill] = []
        left = qty
        for price, order_no, available in self._opposite(side, account_no):
            if left <= 0 or (limit_price is not None and not crosses(side, limit_price, price)):
                break
            take = min(left, available)
            fills.append(BookFill(price, take, order_no))
            left -= take
        return fills

    def fillable_qty(self, side: Side, qty: int, limit_price: int | None, account_no: str) -> int:
        """How much of ``qty`` would fill at once (fill-or-kill checks it is all)."""
        return sum(fill.qty for fill in self.match(side, qty, limit_price, account_no))

    def _opposite(self, side: Side, account_no: str) -> list[tuple[int, str | None, int]]:
        """The counter side as (price, user order no | None, qty), in execution order."""
        liquidity = self._liquidity()
        users = self._asks if side is Side.BUY else self._bids
        maker = liquidity.asks if side is Side.BUY else liquidity.bids
        sign = 1 if side is Side.BUY else -1
        rows: list[tuple[int, int, int, str | None, int]] = [
            (sign * r.price, 0, r.seq, r.order_no, r.qty)
            for r in users
            if r.account_no != account_no
        ]
        rows += [(sign * level.price, 1, 0, None, level.qty) for level in maker if level.qty > 0]
        rows.sort(key=lambda row: row[:3])
        return [(sign * key, order_no, qty) for key, _, _, order_no, qty in rows]

    def depth(self, levels: int = 10) -> Liquidity:
        """Aggregated quantity per price, user orders included, ``levels`` per side."""
        liquidity = self._liquidity()
        return Liquidity(
            bids=_aggregate(self._bids, liquidity.bids, levels, descending=True),
            asks=_aggregate(self._asks, liquidity.asks, levels, descending=False),
        )

    def best_bid(self, exclude_account: str | None = None) -> int | None:
        return self._best(Side.BUY, exclude_account)

    def best_ask(self, exclude_account: str | None = None) -> int | None:
        return self._best(Side.SELL, exclude_account)

    def _best(self, side: Side, exclude_account: str | None) -> int | None:
        """Best price on ``side`` (bids for BUY), optionally ignoring one account's orders."""
        liquidity = self._liquidity()
        users = self._bids if side is Side.BUY else self._asks
        maker = liquidity.bids if side is Side.BUY else liquidity.asks
        # users rest best first: the first one not excluded has their best price
        best_user = next((r.price for r in users if r.account_no != exclude_account), None)
        prices = [level.price for level in maker if level.qty > 0]
        if best_user is not None:
            prices.append(best_user)
        if not prices:
            return None
        return max(prices) if side is Side.BUY else min(prices)


def _aggregate(
    users: list[Resting], maker: list[Level], levels: int, *, descending: bool
) -> list[Level]:
    totals: dict[int, int] = {}
    for entry in users:
        totals[entry.price] = totals.get(entry.price, 0) + entry.qty
    for level in maker:
        if level.qty > 0:
            totals[level.price] = totals.get(level.price, 0) + level.qty
    prices = sorted(totals, reverse=descending)[:levels]
    return [Level(price, totals[price]) for price in prices]
