"""Writing and reading orders: each event and the view it yields in one
transaction; a duplicate broker report (same ``dedupe_key``) is written once."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from quantum.platform.db.models import IdempotencyKey, OrderEventRow, OrderViewRow
from quantum.platform.trading.projection import OrderEvent, OrderView, apply
from quantum.platform.trading.states import EventType, OrderState

VIEW_FIELDS = tuple(f.name for f in fields(OrderView))


def new_order_id() -> str:
    """Time-ordered and unguessable: ``ORD`` + ms clock (hex) + 40 random bits."""
    return f"ORD{int(time.time() * 1000):011x}{secrets.token_hex(5)}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def view_of(row: OrderViewRow) -> OrderView:
    values = {name: getattr(row, name) for name in VIEW_FIELDS}
    values["state"] = OrderState(row.state)
    values["prior_state"] = OrderState(row.prior_state) if row.prior_state else None
    return OrderView(**values)


def _columns(view: OrderView) -> dict[str, Any]:
    return {
        name: value.value if name.endswith("state") and value else value
        for name, value in asdict(view).items()
    }


def _write_view(row: OrderViewRow, view: OrderView) -> None:
    for name, value in _columns(view).items():
        setattr(row, name, value)


class _Stale(Exception):
    """The view row moved on since it was read."""


def event_of(row: OrderEventRow) -> OrderEvent:
    return OrderEvent(
        order_id=row.order_id,
        seq=row.seq,
        type=EventType(row.event_type),
        occurred_at=row.occurred_at,
        data=json.loads(row.data),
        dedupe_key=row.dedupe_key,
    )


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


class OrderStore:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._sessions = sessions
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
        try:
            async with self._sessions.begin() as session:
                if idempotency is not None:
                    user_id, key, digest = idempotency
                    session.add(
                        IdempotencyKey(
                            user_id=user_id,
                            idempotency_key=key,
                            order_id=order_id,
                            request_hash=digest,
                            created_at=now,
                        )
                    )
                    await session.flush()
                session.add(self._event_row(event))
                row = OrderViewRow()
                _write_view(row, view)
                session.add(row)
        except IntegrityError:
            if idempotency is None:
                raise
            user_id, key, digest = idempotency
            async with self._sessions() as session:
                found = await session.get(IdempotencyKey, (user_id, key))
            if found is None:
                raise
            raise DuplicateKey(found.order_id, found.request_hash == digest) from None
        return view

    @staticmethod
    def _event_row(event: OrderEvent) -> OrderEventRow:
        return OrderEventRow(
            order_id=event.order_id,
            seq=event.seq,
            event_type=event.type.value,
            data=json.dumps(dict(event.data), separators=(",", ":"), default=str),
            occurred_at=event.occurred_at,
            dedupe_key=event.dedupe_key,
        )

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
            try:
                async with self._sessions.begin() as session:
                    changed = await session.execute(
                        update(OrderViewRow)
                        .where(
                            OrderViewRow.order_id == order_id,
                            OrderViewRow.version == current.version,
                        )
                        .values(_columns(view))
                    )
                    if changed.rowcount != 1:  # type: ignore[attr-defined]
                        raise _Stale
                    session.add(self._event_row(event))
                return view
            except _Stale:
                current = None  # another writer was first: read again
            except IntegrityError as exc:
                if dedupe_key is not None and (
                    "dedupe" in str(exc.orig).lower() or await self._seen(dedupe_key)
                ):
                    return None
                current = None
        raise RuntimeError(f"could not append to order {order_id}")

    async def _seen(self, dedupe_key: str) -> bool:
        async with self._sessions() as session:
            found = await session.scalar(
                select(OrderEventRow.id).where(OrderEventRow.dedupe_key == dedupe_key)
            )
        return found is not None

    async def by_idempotency_key(self, user_id: str, key: str) -> tuple[OrderView, str] | None:
        """The order a key was first used for, and that request's hash."""
        async with self._sessions() as session:
            found = await session.get(IdempotencyKey, (user_id, key))
            if found is None:
                return None
            row = await session.get(OrderViewRow, found.order_id)
        if row is None:
            return None
        return view_of(row), found.request_hash

    async def get(self, order_id: str) -> OrderView | None:
        async with self._sessions() as session:
            row = await session.get(OrderViewRow, order_id)
        return view_of(row) if row is not None else None

    async def events(self, order_id: str) -> list[OrderEvent]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(OrderEventRow)
                .where(OrderEventRow.order_id == order_id)
                .order_by(OrderEventRow.seq)
            )
            return [event_of(row) for row in rows]

    async def find(
        self, query: OrderQuery, *, offset: int = 0, limit: int = 100
    ) -> tuple[list[OrderView], int]:
        where = []
        if query.user_id is not None:
            where.append(OrderViewRow.user_id == query.user_id)
        if query.states:
            where.append(OrderViewRow.state.in_([s.value for s in query.states]))
        if query.stock_code is not None:
            where.append(OrderViewRow.stock_code == query.stock_code)
        if query.side is not None:
            where.append(OrderViewRow.side == query.side)
        if query.since is not None:
            where.append(OrderViewRow.created_at >= query.since)
        if query.until is not None:
            where.append(OrderViewRow.created_at < query.until)
        async with self._sessions() as session:
            total = await session.scalar(
                select(func.count()).select_from(OrderViewRow).where(*where)
            )
            rows = await session.scalars(
                select(OrderViewRow)
                .where(*where)
                .order_by(OrderViewRow.created_at.desc(), OrderViewRow.order_id.desc())
                .offset(offset)
                .limit(limit)
            )
            return [view_of(row) for row in rows], int(total or 0)

    async def by_broker_order_no(self, account_id: str, order_no: str) -> OrderView | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(OrderViewRow).where(
                    OrderViewRow.kiwoom_account_id == account_id,
                    OrderViewRow.broker_order_no == order_no,
                )
            )
        return view_of(row) if row is not None else None

    async def users_with(self, states: Sequence[OrderState]) -> list[str]:
        """Users that have orders in one of ``states``."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(OrderViewRow.user_id)
                .where(OrderViewRow.state.in_([s.value for s in states]))
                .distinct()
            )
            return sorted(rows)

    async def rebuild(self, batch: int = 500) -> int:
        """Replace ``order_view`` with the fold of ``order_events``; returns the count."""
        count = 0
        async with self._sessions.begin() as session:
            await session.execute(delete(OrderViewRow))
            result = await session.stream_scalars(
                select(OrderEventRow).order_by(OrderEventRow.order_id, OrderEventRow.seq)
            )
            pending: list[OrderViewRow] = []
            current: OrderView | None = None
            async for row in result:
                if current is not None and current.order_id != row.order_id:
                    pending.append(self._row(current))
                    current = None
                current = apply(current, event_of(row))
            if current is not None:
                pending.append(self._row(current))
            for chunk_start in range(0, len(pending), batch):
                session.add_all(pending[chunk_start : chunk_start + batch])
                await session.flush()
            count = len(pending)
        return count

    @staticmethod
    def _row(view: OrderView) -> OrderViewRow:
        row = OrderViewRow()
        _write_view(row, view)
        return row

    async def all_views(self) -> list[OrderView]:
        async with self._sessions() as session:
            rows = await session.scalars(select(OrderViewRow).order_by(OrderViewRow.order_id))
            return [view_of(row) for row in rows]

    async def fills(self, account_id: str) -> list[tuple[str, str, OrderEvent]]:
        """Every fill (FILLED / PARTIALLY_FILLED event) on an account's orders, oldest
        first, as ``(stock_code, side, event)``: the history the portfolio's
        average-cost P&L is computed from."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(OrderEventRow, OrderViewRow.stock_code, OrderViewRow.side)
                .join(OrderViewRow, OrderViewRow.order_id == OrderEventRow.order_id)
                .where(
                    OrderViewRow.kiwoom_account_id == account_id,
                    OrderEventRow.event_type.in_(
                        [EventType.FILLED.value, EventType.PARTIALLY_FILLED.value]
                    ),
                )
                .order_by(OrderEventRow.occurred_at, OrderEventRow.id)
            )
            return [(code, side, event_of(row)) for row, code, side in rows]
