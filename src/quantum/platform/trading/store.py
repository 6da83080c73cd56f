"""Writing and reading orders: each event and the view it yields in one
transaction; a duplicate broker report (same ``dedupe_key``) is written once.

SQLAlchemy Core on the tables, statements built once: an order's submit is two
short transactions on its hot path, and the ORM's unit of work cost more than the
SQL itself."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from functools import partial
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable

from quantum.platform.db.models import IdempotencyKey, OrderEventRow, OrderViewRow
from quantum.platform.db.units import units_for
from quantum.platform.trading.projection import OrderEvent, OrderView, apply
from quantum.platform.trading.states import EventType, OrderState

VIEW_FIELDS = tuple(f.name for f in fields(OrderView))
STATE_FIELDS = frozenset({"state", "prior_state"})

EVENTS = cast(Table, OrderEventRow.__table__)
VIEWS = cast(Table, OrderViewRow.__table__)
KEYS = cast(Table, IdempotencyKey.__table__)

_INSERT_EVENT = insert(EVENTS)
_INSERT_VIEW = insert(VIEWS)
_INSERT_KEY = insert(KEYS)
_UPDATE_VIEW = update(VIEWS).where(
    VIEWS.c.order_id == bindparam("expected_order_id"),
    VIEWS.c.version == bindparam("expected_version"),
)
"""Optimistic: only the version the event was applied to is replaced."""
_VIEW_BY_ID = select(VIEWS).where(VIEWS.c.order_id == bindparam("order_id"))
_KEY = select(KEYS.c.order_id, KEYS.c.request_hash).where(
    KEYS.c.user_id == bindparam("user_id"), KEYS.c.idempotency_key == bindparam("key")
)
_EVENTS_OF = select(EVENTS).where(EVENTS.c.order_id == bindparam("order_id")).order_by(EVENTS.c.seq)
_DEDUPE_SEEN = select(EVENTS.c.id).where(EVENTS.c.dedupe_key == bindparam("dedupe_key"))
_BY_BROKER_NO = select(VIEWS).where(
    VIEWS.c.kiwoom_account_id == bindparam("account_id"),
    VIEWS.c.broker_order_no == bindparam("order_no"),
)


def new_order_id() -> str:
    """Time-ordered and unguessable: ``ORD`` + ms clock (hex) + 40 random bits."""
    return f"ORD{int(time.time() * 1000):011x}{secrets.token_hex(5)}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def view_of(row: RowMapping) -> OrderView:
    values = {name: row[name] for name in VIEW_FIELDS}
    values["state"] = OrderState(row["state"])
    values["prior_state"] = OrderState(row["prior_state"]) if row["prior_state"] else None
    return OrderView(**values)


def _columns(view: OrderView) -> dict[str, Any]:
    """The view as ``order_view`` column values (states by their names)."""
    values = {name: getattr(view, name) for name in VIEW_FIELDS}
    for name in STATE_FIELDS:
        if values[name] is not None:
            values[name] = values[name].value
    return values


def event_of(row: RowMapping) -> OrderEvent:
    return OrderEvent(
        order_id=row["order_id"],
        seq=row["seq"],
        type=EventType(row["event_type"]),
        occurred_at=row["occurred_at"],
        data=json.loads(row["data"]),
        dedupe_key=row["dedupe_key"],
    )


def _event_columns(event: OrderEvent) -> dict[str, Any]:
    return {
        "order_id": event.order_id,
        "seq": event.seq,
        "event_type": event.type.value,
        "data": json.dumps(dict(event.data), separators=(",", ":"), default=str),
        "occurred_at": event.occurred_at,
        "dedupe_key": event.dedupe_key,
    }


class _Stale(Exception):
    """The view row moved on since it was read."""


class DuplicateKey(Exception):
    """The idempotency key was used before; ``order_id`` is the first order."""

    def __init__(self, order_id: str, same_request: bool) -> None:
        super().__init__(order_id)
        self.order_id = order_id
        self.same_request = same_request


@dataclass(frozen=True)
class OrderQuery:
    user_id: str | None = None
    states: Sequence[OrderState] = ()
    stock_code: str | None = None
    side: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def where(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.user_id is not None:
            where.append(VIEWS.c.user_id == self.user_id)
        if self.states:
            where.append(VIEWS.c.state.in_([s.value for s in self.states]))
        if self.stock_code is not None:
            where.append(VIEWS.c.stock_code == self.stock_code)
        if self.side is not None:
            where.append(VIEWS.c.side == self.side)
        if self.since is not None:
            where.append(VIEWS.c.created_at >= self.since)
        if self.until is not None:
            where.append(VIEWS.c.created_at < self.until)
        return where


def _replace_view(view: dict[str, Any], event: dict[str, Any], connection: Connection) -> None:
    if connection.execute(_UPDATE_VIEW, view).rowcount != 1:
        raise _Stale
    connection.execute(_INSERT_EVENT, event)


class OrderStore:
    """Each method is a unit of work (a function of one connection) run by
    :mod:`quantum.platform.db.units`: in one thread on SQLite, on the async engine
    on PostgreSQL."""

    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self._units = units_for(engine)
        self._clock = clock

    async def aclose(self) -> None:
        await self._units.aclose()

    async def create(
        self,
        data: Mapping[str, Any],
        *,
        idempotency: tuple[str, str, str] | None = None,
    ) -> OrderView:
        """Record SUBMITTED (and the key ``(user_id, key, request_hash)``) atomically;
        raises :class:`DuplicateKey` when the key exists."""
        order_id = new_order_id()
        now = self._clock()
        event = OrderEvent(order_id, 1, EventType.SUBMITTED, now, dict(data))
        view = apply(None, event)

        def insert(connection: Connection) -> None:
            if idempotency is not None:
                user_id, key, digest = idempotency
                connection.execute(
                    _INSERT_KEY,
                    {
                        "user_id": user_id,
                        "idempotency_key": key,
                        "order_id": order_id,
                        "request_hash": digest,
                        "created_at": now,
                    },
                )
            connection.execute(_INSERT_EVENT, _event_columns(event))
            connection.execute(_INSERT_VIEW, _columns(view))

        try:
            await self._units.write(insert)
        except IntegrityError:
            if idempotency is None:
                raise
            user_id, key, digest = idempotency
            found = await self._first(_KEY, user_id=user_id, key=key)
            if found is None:
                raise
            raise DuplicateKey(found["order_id"], found["request_hash"] == digest) from None
        return view

    async def append(
        self,
        order_id: str,
        event_type: EventType,
        data: Mapping[str, Any] | None = None,
        *,
        dedupe_key: str | None = None,
        allowed: Callable[[OrderView], bool] | None = None,
        current: OrderView | None = None,
    ) -> OrderView | None:
        """Apply one event; None when it is a duplicate or ``allowed(view)`` says no.
        Raises InvalidTransition for an event the order's state does not allow.

        Optimistic: the view row is updated only if its ``version`` is still the one
        the event was applied to (``current``, when the caller has the latest view,
        saves reading it); otherwise it is read again and the event re-applied."""
        for _ in range(8):
            if current is None:
                current = await self.get(order_id)
                if current is None:
                    raise KeyError(order_id)
            if allowed is not None and not allowed(current):
                return None
            event = OrderEvent(
                order_id,
                current.version + 1,
                event_type,
                self._clock(),
                dict(data or {}),
                dedupe_key,
            )
            view = apply(current, event)
            replaced = {
                **_columns(view),
                "expected_order_id": order_id,
                "expected_version": current.version,
            }
            try:
                await self._units.write(partial(_replace_view, replaced, _event_columns(event)))
                return view
            except _Stale:
                current = None  # another writer was first: read again
            except IntegrityError as exc:
                if dedupe_key is not None and (
                    "dedupe" in str(exc.orig).lower()
                    or await self._first(_DEDUPE_SEEN, dedupe_key=dedupe_key) is not None
                ):
                    return None
                current = None
        raise RuntimeError(f"could not append to order {order_id}")

    async def _first(self, statement: Executable, **params: Any) -> RowMapping | None:
        return await self._units.read(
            lambda connection: connection.execute(statement, params).mappings().first()
        )

    async def _all(self, statement: Executable, **params: Any) -> Sequence[RowMapping]:
        return await self._units.read(
            lambda connection: connection.execute(statement, params).mappings().all()
        )

    async def by_idempotency_key(self, user_id: str, key: str) -> tuple[OrderView, str] | None:
        """The order a key was first used for, and that request's hash."""
        found = await self._first(_KEY, user_id=user_id, key=key)
        if found is None:
            return None
        view = await self.get(found["order_id"])
        return None if view is None else (view, found["request_hash"])

    async def get(self, order_id: str) -> OrderView | None:
        row = await self._first(_VIEW_BY_ID, order_id=order_id)
        return view_of(row) if row is not None else None

    async def events(self, order_id: str) -> list[OrderEvent]:
        return [event_of(row) for row in await self._all(_EVENTS_OF, order_id=order_id)]

    async def find(
        self, query: OrderQuery, *, offset: int = 0, limit: int = 100
    ) -> tuple[list[OrderView], int]:
        where = query.where()

        def read(connection: Connection) -> tuple[list[OrderView], int]:
            total = connection.scalar(select(func.count()).select_from(VIEWS).where(*where))
            rows = connection.execute(
                select(VIEWS)
                .where(*where)
                .order_by(VIEWS.c.created_at.desc(), VIEWS.c.order_id.desc())
                .offset(offset)
                .limit(limit)
            )
            return [view_of(row) for row in rows.mappings()], int(total or 0)

        return await self._units.read(read)

    async def by_broker_order_no(self, account_id: str, order_no: str) -> OrderView | None:
        row = await self._first(_BY_BROKER_NO, account_id=account_id, order_no=order_no)
        return view_of(row) if row is not None else None

    async def users_with(self, states: Sequence[OrderState]) -> list[str]:
        """Users that have orders in one of ``states``."""
        statement = (
            select(VIEWS.c.user_id).where(VIEWS.c.state.in_([s.value for s in states])).distinct()
        )
        return sorted(row["user_id"] for row in await self._all(statement))

    async def rebuild(self, batch: int = 500) -> int:
        """Replace ``order_view`` with the fold of ``order_events``; returns the count."""

        def rebuild(connection: Connection) -> int:
            connection.execute(delete(VIEWS))
            rows = connection.execute(select(EVENTS).order_by(EVENTS.c.order_id, EVENTS.c.seq))
            views: list[dict[str, Any]] = []
            current: OrderView | None = None
            for row in rows.mappings():
                if current is not None and current.order_id != row["order_id"]:
                    views.append(_columns(current))
                    current = None
                current = apply(current, event_of(row))
            if current is not None:
                views.append(_columns(current))
            for start in range(0, len(views), batch):
                connection.execute(_INSERT_VIEW, views[start : start + batch])
            return len(views)

        return await self._units.write(rebuild)

    async def all_views(self) -> list[OrderView]:
        rows = await self._all(select(VIEWS).order_by(VIEWS.c.order_id))
        return [view_of(row) for row in rows]

    async def fills(self, account_id: str) -> list[tuple[str, str, OrderEvent]]:
        """Every fill (FILLED / PARTIALLY_FILLED event) on an account's orders, oldest
        first, as ``(stock_code, side, event)``: the history the portfolio's
        average-cost P&L is computed from."""
        statement = (
            select(EVENTS, VIEWS.c.stock_code.label("view_stock_code"), VIEWS.c.side)
            .join(VIEWS, VIEWS.c.order_id == EVENTS.c.order_id)
            .where(
                VIEWS.c.kiwoom_account_id == account_id,
                EVENTS.c.event_type.in_([EventType.FILLED.value, EventType.PARTIALLY_FILLED.value]),
            )
            .order_by(EVENTS.c.occurred_at, EVENTS.c.id)
        )
        rows = await self._all(statement)
        return [(row["view_stock_code"], row["side"], event_of(row)) for row in rows]
