"""Replaying ``order_events`` gives back ``order_view``: random legal histories of
several interleaved orders are written through a real :class:`OrderStore` on SQLite,
then the stored views are compared with the fold of the stored events, before and
after ``rebuild()``."""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantum.platform.db.engine import create_engine
from quantum.platform.db.migrate import upgrade
from quantum.platform.db.units import units_for
from quantum.platform.trading.projection import OrderView, project
from quantum.platform.trading.states import (
    RETURNS_TO_PRIOR,
    TRANSITIONS,
    EventType,
    OrderState,
)
from quantum.platform.trading.store import OrderStore

E, S = EventType, OrderState

MAX_STEPS = 12


@dataclass
class Model:
    """What the generator needs to know to stay legal: state, prior, quantities."""

    quantity: int
    initial_quantity: int
    state: OrderState | None = None
    prior: OrderState | None = None
    filled: int = 0
    broker_no: str | None = None
    steps: list[tuple[EventType, dict[str, Any]]] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.quantity - self.filled


def _allowed(model: Model) -> list[EventType]:
    """Events the table allows now, minus fills that cannot happen (nothing left)."""
    found = [event for (state, event) in TRANSITIONS if state == model.state]
    found += [event for event, states in RETURNS_TO_PRIOR.items() if model.state in states]
    if model.remaining < 2:
        found = [e for e in found if e is not E.PARTIALLY_FILLED]
    if model.remaining < 1:
        found = [e for e in found if e is not E.FILLED]
    return sorted(set(found))


_numbers = itertools.count(1000)


def _event_data(draw: st.DrawFn, model: Model, event: EventType) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if event is E.ACCEPTED and draw(st.booleans()):
        data["broker_order_no"] = str(next(_numbers))
    elif event in (E.PARTIALLY_FILLED, E.FILLED):
        last = event is E.FILLED
        data["fill_quantity"] = (
            model.remaining if last else draw(st.integers(1, model.remaining - 1))
        )
        data["fill_price"] = draw(st.integers(1, 200).map(lambda t: t * 100))
        if draw(st.booleans()):
            data["broker_order_no"] = model.broker_no or str(next(_numbers))
    elif event is E.MODIFIED:
        if draw(st.booleans()):
            data["broker_order_no"] = str(next(_numbers))  # Kiwoom numbers it anew
        if draw(st.booleans()):
            data["price"] = draw(st.integers(1, 200)) * 100
        if draw(st.booleans()):
            data["remaining_quantity"] = draw(st.integers(1, 50))
    elif event in (
        E.REJECTED,
        E.OUTCOME_UNKNOWN,
        E.CANCEL_REJECTED,
        E.MODIFY_REJECTED,
        E.EXPIRED,
    ) and draw(st.booleans()):
        data["reason"] = draw(st.sampled_from(["no answer", "주문가능수량 부족", "closed"]))
        data["code"] = draw(st.sampled_from(["RC4025", "TIMEOUT", "571489"]))
    return data


def _advance(model: Model, event: EventType, data: dict[str, Any]) -> None:
    """Mirror of the projection's bookkeeping that matters for legality."""
    if model.state in RETURNS_TO_PRIOR.get(event, ()):
        model.state, model.prior = model.prior, None
    else:
        new_state = TRANSITIONS[(model.state, event)]
        if event in (E.CANCEL_REQUESTED, E.MODIFY_REQUESTED):
            model.prior = model.state
        elif event in (E.MODIFIED, E.CANCELLED):
            model.prior = None
        model.state = new_state
    if event in (E.PARTIALLY_FILLED, E.FILLED):
        model.filled += int(data["fill_quantity"])
        if model.state in (S.FILLED,):
            model.prior = None
        elif model.prior is not None:
            model.prior = S.PARTIALLY_FILLED
        if data.get("broker_order_no") and model.broker_no is None:
            model.broker_no = data["broker_order_no"]
    if event is E.ACCEPTED and data.get("broker_order_no"):
        model.broker_no = data["broker_order_no"]
    if event is E.MODIFIED:
        if data.get("broker_order_no"):
            model.broker_no = data["broker_order_no"]
        if data.get("remaining_quantity") is not None:
            model.quantity = model.filled + int(data["remaining_quantity"])


@st.composite
def order_history(draw: st.DrawFn) -> Model:
    quantity = draw(st.integers(1, 50))
    model = Model(quantity=quantity, initial_quantity=quantity)
    _advance(model, E.SUBMITTED, {})
    for _ in range(draw(st.integers(0, MAX_STEPS))):
        if model.state is not None and model.state.is_final:
            break
        choices = _allowed(model)
        if not choices:
            break
        event = draw(st.sampled_from(choices))
        data = _event_data(draw, model, event)
        model.steps.append((event, data))
        _advance(model, event, data)
    return model


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[Model], list[int]]:
    """Several orders and an interleaving: ``schedule[i]`` is the order whose next
    event is written at step i."""
    orders = draw(st.lists(order_history(), min_size=1, max_size=5))
    slots = [i for i, model in enumerate(orders) for _ in model.steps]
    schedule = draw(st.permutations(slots)) if slots else []
    return orders, list(schedule)


def _submitted(index: int, quantity: int) -> dict[str, Any]:
    return {
        "user_id": f"USER_{index % 2:03d}",
        "kiwoom_account_id": f"KA{index:04d}",
        "stock_code": "005930",
        "side": "BUY" if index % 2 else "SELL",
        "order_type": "LIMIT",
        "quantity": quantity,
        "price": 70000,
        "client_order_id": f"c-{index}" if index % 3 else None,
    }


def _check_invariants(view: OrderView) -> None:
    assert view.filled_quantity <= view.quantity, view
    assert view.remaining_quantity >= 0, view
    assert view.filled_quantity + view.cancelled_quantity <= view.quantity, view
    assert 0 <= view.base_filled_quantity <= view.filled_quantity, view
    assert view.broker_filled_quantity >= 0, view
    if view.state.is_final:
        assert view.remaining_quantity == 0, view
    if view.state is S.FILLED:
        assert view.filled_quantity == view.quantity, view
    if view.state in (S.PENDING_CANCEL, S.PENDING_MODIFY):
        assert view.prior_state is not None, view
    else:
        assert view.prior_state is None, view


def _fields(view: OrderView) -> dict[str, Any]:
    return asdict(view)


async def _run(url: str, orders: list[Model], schedule: list[int]) -> None:
    engine = create_engine(url)
    ticks = itertools.count()
    start = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    units = units_for(engine)
    store = OrderStore(units, clock=lambda: start + timedelta(milliseconds=next(ticks)))
    try:
        ids: list[str] = []
        for index, model in enumerate(orders):
            created = await store.create(_submitted(index, model.initial_quantity))
            ids.append(created.order_id)
        cursors = [0] * len(orders)
        last: dict[str, OrderView] = {}
        for index in schedule:
            event, data = orders[index].steps[cursors[index]]
            cursors[index] += 1
            view = await store.append(ids[index], event, data)
            assert view is not None
            _check_invariants(view)
            last[ids[index]] = view

        stored = await store.all_views()
        assert sorted(v.order_id for v in stored) == sorted(ids)
        for view in stored:
            events = await store.events(view.order_id)
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
            folded = project(events)
            assert folded is not None
            assert _fields(view) == _fields(folded)
            if view.order_id in last:
                assert _fields(view) == _fields(last[view.order_id])
            _check_invariants(view)

        rebuilt_count = await store.rebuild()
        assert rebuilt_count == len(orders)
        rebuilt = await store.all_views()
        assert [_fields(v) for v in rebuilt] == [_fields(v) for v in stored]
    finally:
        await units.aclose()
        await engine.dispose()


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for every example (migrating is the slow part)."""
    path = tmp_path_factory.mktemp("replay") / "template.db"

    async def migrate() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(migrate())
    return path


def _copies(template: Path) -> Iterator[Path]:
    for n in itertools.count():
        target = template.parent / f"example{n}.db"
        shutil.copyfile(template, target)
        yield target


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=scenario())
def test_views_are_the_fold_of_events_and_survive_rebuild(
    template_db: Path, case: tuple[list[Model], list[int]]
) -> None:
    orders, schedule = case
    target = next(_COPIES.setdefault(template_db, _copies(template_db)))
    try:
        asyncio.run(_run(f"sqlite+aiosqlite:///{target}", orders, schedule))
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)


_COPIES: dict[Path, Iterator[Path]] = {}
