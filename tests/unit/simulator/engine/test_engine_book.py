"""OrderBook: price-time priority, users before the market maker, no self-trades."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from quantum.simulator.engine import BookFill, OrderBook, Side
from quantum.simulator.market import Level, Liquidity


def book_with(bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> OrderBook:
    liquidity = Liquidity([Level(p, q) for p, q in bids], [Level(p, q) for p, q in asks])
    return OrderBook("005930", lambda: liquidity)


MM_BIDS = [(69_900, 5), (69_800, 5)]
MM_ASKS = [(70_000, 5), (70_100, 5)]


def test_buy_walks_asks_best_first_up_to_the_limit() -> None:
    book = book_with(MM_BIDS, MM_ASKS)
    assert book.match(Side.BUY, 7, 70_100, "A") == [
        BookFill(70_000, 5, None),
        BookFill(70_100, 2, None),
    ]
    assert book.match(Side.BUY, 7, 70_000, "A") == [BookFill(70_000, 5, None)]
    assert book.match(Side.BUY, 7, 69_900, "A") == []


def test_sell_walks_bids_best_first() -> None:
    book = book_with(MM_BIDS, MM_ASKS)
    assert book.match(Side.SELL, 20, None, "A") == [
        BookFill(69_900, 5, None),
        BookFill(69_800, 5, None),
    ]


def test_user_orders_trade_before_the_market_maker_at_one_price_oldest_first() -> None:
    book = book_with(MM_BIDS, MM_ASKS)
    book.add("0000001", "B", Side.SELL, 70_000, 2)
    book.add("0000002", "C", Side.SELL, 70_000, 3)
    book.add("0000003", "B", Side.SELL, 69_950, 1)  # off-grid is the engine's concern
    assert book.match(Side.BUY, 8, 70_000, "A") == [
        BookFill(69_950, 1, "0000003"),
        BookFill(70_000, 2, "0000001"),
        BookFill(70_000, 3, "0000002"),
        BookFill(70_000, 2, None),
    ]


def test_never_matches_the_same_accounts_orders() -> None:
    book = book_with(MM_BIDS, MM_ASKS)
    book.add("0000001", "A", Side.SELL, 69_950, 4)
    assert book.match(Side.BUY, 2, 70_000, "A") == [BookFill(70_000, 2, None)]
    assert book.match(Side.BUY, 2, 70_000, "B") == [BookFill(69_950, 2, "0000001")]
    assert book.best_ask() == 69_950
    assert book.best_ask(exclude_account="A") == 70_000


def test_match_plans_only_and_fillable_qty_sums_it() -> None:
    book = book_with(MM_BIDS, MM_ASKS)
    book.add("0000001", "B", Side.SELL, 70_000, 2)
    before = book.depth()
    assert book.fillable_qty(Side.BUY, 100, 70_100, "A") == 12
    assert book.fillable_qty(Side.BUY, 3, 70_100, "A") == 3
    assert book.depth() == before
    assert [r.qty for r in book.resting(Side.SELL)] == [2]


def test_depth_aggregates_users_and_market_maker() -> None:
    book = book_with(MM_BIDS, MM_ASKS)
    book.add("0000001", "B", Side.BUY, 69_900, 2)
    book.add("0000002", "B", Side.BUY, 69_950, 1)
    book.add("0000003", "C", Side.SELL, 70_100, 4)
    depth = book.depth()
    assert depth.bids == [Level(69_950, 1), Level(69_900, 7), Level(69_800, 5)]
    assert depth.asks == [Level(70_000, 5), Level(70_100, 9)]
    assert book.depth(levels=1).bids == [Level(69_950, 1)]
    assert book.best_bid() == 69_950


def test_reduce_and_remove_keep_priority() -> None:
    book = book_with([], [])
    book.add("0000001", "B", Side.BUY, 100, 5)
    book.add("0000002", "C", Side.BUY, 100, 5)
    book.add("0000003", "C", Side.BUY, 101, 1)
    assert [r.order_no for r in book.resting(Side.BUY)] == ["0000003", "0000001", "0000002"]
    book.reduce("0000001", 5)
    assert "0000001" not in book
    assert book.remove("0000002") == 5
    assert book.remove("0000002") == 0
    assert len(book) == 1


def test_empty_book_has_no_best() -> None:
    book = book_with([], [])
    assert book.best_bid() is None
    assert book.best_ask() is None
    assert book.match(Side.BUY, 1, None, "A") == []


@given(
    asks=st.lists(st.tuples(st.integers(1, 50), st.integers(0, 9)), max_size=8),
    users=st.lists(
        st.tuples(st.integers(1, 50), st.integers(1, 9), st.sampled_from("ABC")), max_size=8
    ),
    qty=st.integers(1, 60),
    limit=st.none() | st.integers(1, 50),
)
def test_match_respects_limit_priority_and_quantity(
    asks: list[tuple[int, int]],
    users: list[tuple[int, int, str]],
    qty: int,
    limit: int | None,
) -> None:
    prices = sorted({p for p, _ in asks})
    maker = [(p, sum(q for pp, q in asks if pp == p)) for p in prices]
    book = book_with([], maker)
    for n, (price, size, account) in enumerate(users):
        book.add(f"{n:07d}", account, Side.SELL, price, size)
    fills = book.match(Side.BUY, qty, limit, "A")
    assert sum(f.qty for f in fills) <= qty
    assert [f.price for f in fills] == sorted(f.price for f in fills)
    assert all(limit is None or f.price <= limit for f in fills)
    own = {f"{n:07d}" for n, u in enumerate(users) if u[2] == "A"}
    assert not own & {f.order_no for f in fills}
    available = sum(q for p, q in maker if limit is None or p <= limit) + sum(
        s for p, s, a in users if a != "A" and (limit is None or p <= limit)
    )
    assert sum(f.qty for f in fills) == min(qty, available)
