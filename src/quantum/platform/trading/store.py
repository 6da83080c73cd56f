"""Writing and reading orders: each event and the view it yields in one atomic
write; a duplicate broker report (same ``dedupe_key``) is written once.

SQLAlchemy Core with statements built once (:mod:`order_rows`), run as units of
work (:mod:`quantum.platform.db.units`): an order's submit is two writes on its hot
path, and the ORM's unit of work cost more than the SQL itself."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Executable

from quantum.platform.db.units import Units
from quantum.platform.trading.order_rows import (
    BY_BROKER_NO,
    DEDUPE_SEEN,
    EVENTS,
    EVENTS_OF,
    INSERT_VIEW,
    KEY,
    VIEW_BY_ID,
    VIEWS,
    event_columns,
    event_of,
    insert_order,
    key_columns,
    replace_view,
    view_columns,
    view_of,
)
from quantum.platform.trading.projection import OrderEvent, OrderView, apply
from quantum.platform.trading.states import EventType, OrderState


def new_order_id() -> str:
    """Time-ordered and unguessable: ``ORD`` + ms clock (hex) + 40 random bits."""
    return f"ORD{int(time.time() * 1000):011x}{secrets.token_hex(5)}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


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


class OrderStore:
    """Each method is a unit of work (a function of one connection) run by
    :mod:`quantum.platform.db.units`: on the loop's thread on a SQLite file; on
    PostgreSQL reads on the async engine and the two writes on asyncpg's pool. Reads
    of many rows are scans (off the loop)."""

    def __init__(self, units: Units, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self._units = units
        self._clock = clock

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
        key_row = key_columns(idempotency, order_id, now) if idempotency is not None else None
        change = insert_order(key_row, event_columns(event), view_columns(view))
        try:
            await self._units.atomic(change)
        except IntegrityError:
            if idempotency is None:
                raise
            user_id, key, digest = idempotency
            found = await self._first(KEY, user_id=user_id, key=key)
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
        durable: bool = True,
    ) -> OrderView | None:
        """Apply one event; None when it is a duplicate or ``allowed(view)`` says no.
        Raises InvalidTransition for an event the order's state does not allow.
        Not ``durable``: for what the broker keeps too (see order_rows.py).

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
            change = replace_view(current, view, event_columns(event), durable=durable)
            try:
                if await self._units.atomic(change) == 1:
                    return view
                current = None  # another writer was first: read again
            except IntegrityError as exc:
                if dedupe_key is not None and (
                    "dedupe" in str(exc.orig).lower()
                    or await self._first(DEDUPE_SEEN, dedupe_key=dedupe_key) is not None
                ):
                    return None
                current = None
        raise RuntimeError(f"could not append to order {order_id}")

    async def _first(self, statement: Executable, **params: Any) -> RowMapping | None:
        return await self._units.read(
            lambda connection: connection.execute(statement, params).mappings().first()
        )

    async def _all(self, statement: Executable, **params: Any) -> Sequence[RowMapping]:
        return await self._units.scan(
            lambda connection: connection.execute(statement, params).mappings().all()
        )

    async def by_idempotency_key(self, user_id: str, key: str) -> tuple[OrderView, str] | None:
        """The order a key was first used for, and that request's hash."""
        found = await self._first(KEY, user_id=user_id, key=key)
        if found is None:
            return None
        view = await self.get(found["order_id"])
        return None if view is None else (view, found["request_hash"])

    async def get(self, order_id: str) -> OrderView | None:
        row = await self._first(VIEW_BY_ID, order_id=order_id)
        return view_of(row) if row is not None else None

    async def events(self, order_id: str) -> list[OrderEvent]:
        return [event_of(row) for row in await self._all(EVENTS_OF, order_id=order_id)]

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

        return await self._units.scan(read)

    async def by_broker_order_no(self, account_id: str, order_no: str) -> OrderView | None:
        row = await self._first(BY_BROKER_NO, account_id=account_id, order_no=order_no)
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
                    views.append(view_columns(current))
                    current = None
                current = apply(current, event_of(row))
            if current is not None:
                views.append(view_columns(current))
            for start in range(0, len(views), batch):
                connection.execute(INSERT_VIEW, views[start : start + batch])
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
                # only a numbered order fills; and ix_order_view_broker_no holds those
                VIEWS.c.broker_order_no.is_not(None),
                EVENTS.c.event_type.in_([EventType.FILLED.value, EventType.PARTIALLY_FILLED.value]),
            )
            .order_by(EVENTS.c.occurred_at, EVENTS.c.id)
        )
        rows = await self._all(statement)
        return [(row["view_stock_code"], row["side"], event_of(row)) for row in rows]
