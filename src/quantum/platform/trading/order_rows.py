"""The order tables in SQL: row <-> event and view mapping, the statements the
store runs (built once), and its two writes as units of work.

Each write is one atomic :class:`Change`: for PostgreSQL one statement (the inserts
and the optimistic update joined by data-modifying CTEs), which commits by itself
without BEGIN/COMMIT round trips; elsewhere the plain statements in a
transaction. Either way compiled once and run as the driver's own call.

On PostgreSQL an event may be written *relaxed*: its statement sets
``synchronous_commit`` off for its own transaction, so the commit does not wait
for the write-ahead log to reach the disk (0.3-0.4 ms of each write here). It is
visible to every session at once; only a crash of the database server itself in
the next fraction of a second could lose it. That is for what the broker keeps
as well (its answer to a submit), which reconciliation finds again; an intent,
written before the broker hears of it, always waits for the disk."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, literal_column, select, true, update
from sqlalchemy.engine import Connection, RowMapping

from quantum.platform.db.compiled import Compiled
from quantum.platform.db.models import IdempotencyKey, OrderEventRow, OrderViewRow
from quantum.platform.db.units import Change
from quantum.platform.trading.projection import OrderEvent, OrderView
from quantum.platform.trading.states import EventType, OrderState

VIEW_FIELDS = tuple(f.name for f in fields(OrderView))
STATE_FIELDS = frozenset({"state", "prior_state"})
EVENT_COLUMNS = ("order_id", "seq", "event_type", "data", "occurred_at", "dedupe_key")
KEY_COLUMNS = ("user_id", "idempotency_key", "order_id", "request_hash", "created_at")

EVENTS = cast(Table, OrderEventRow.__table__)
VIEWS = cast(Table, OrderViewRow.__table__)
KEYS = cast(Table, IdempotencyKey.__table__)


def view_of(row: RowMapping) -> OrderView:
    values = {name: row[name] for name in VIEW_FIELDS}
    values["state"] = OrderState(row["state"])
    values["prior_state"] = OrderState(row["prior_state"]) if row["prior_state"] else None
    return OrderView(**values)


def view_columns(view: OrderView) -> dict[str, Any]:
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


def event_columns(event: OrderEvent) -> dict[str, Any]:
    return {
        "order_id": event.order_id,
        "seq": event.seq,
        "event_type": event.type.value,
        "data": json.dumps(dict(event.data), separators=(",", ":"), default=str),
        "occurred_at": event.occurred_at,
        "dedupe_key": event.dedupe_key,
    }


def key_columns(idempotency: tuple[str, str, str], order_id: str, now: datetime) -> dict[str, Any]:
    """An idempotency key's row: ``(user_id, key, request_hash)`` used for ``order_id``."""
    user_id, key, digest = idempotency
    return {
        "user_id": user_id,
        "idempotency_key": key,
        "order_id": order_id,
        "request_hash": digest,
        "created_at": now,
    }


# -- reads ---------------------------------------------------------------------------------

VIEW_BY_ID = select(VIEWS).where(VIEWS.c.order_id == bindparam("order_id"))
KEY = select(KEYS.c.order_id, KEYS.c.request_hash).where(
    KEYS.c.user_id == bindparam("user_id"), KEYS.c.idempotency_key == bindparam("key")
)
EVENTS_OF = select(EVENTS).where(EVENTS.c.order_id == bindparam("order_id")).order_by(EVENTS.c.seq)
DEDUPE_SEEN = select(EVENTS.c.id).where(EVENTS.c.dedupe_key == bindparam("dedupe_key"))
BY_BROKER_NO = select(VIEWS).where(
    VIEWS.c.kiwoom_account_id == bindparam("account_id"),
    VIEWS.c.broker_order_no == bindparam("order_no"),
)

# -- writes, portable ---------------------------------------------------------------------

INSERT_VIEW = insert(VIEWS)
_WHERE_VERSION = (
    VIEWS.c.order_id == bindparam("expected_order_id"),
    VIEWS.c.version == bindparam("expected_version"),
)
"""Optimistic: only the version the event was applied to is replaced."""
_INSERT_EVENT = Compiled(insert(EVENTS), EVENT_COLUMNS)
_INSERT_VIEW = Compiled(INSERT_VIEW, VIEW_FIELDS)
_INSERT_KEY = Compiled(insert(KEYS), KEY_COLUMNS)

# -- writes, one PostgreSQL statement each -------------------------------------------------


def _values(table: Table, names: tuple[str, ...], prefix: str) -> dict[str, Any]:
    return {name: bindparam(prefix + name, type_=table.c[name].type) for name in names}


_NEW_EVENT = insert(EVENTS).values(_values(EVENTS, EVENT_COLUMNS, "e_")).cte("new_event")
_CREATE = insert(VIEWS).values(_values(VIEWS, VIEW_FIELDS, "v_")).add_cte(_NEW_EVENT)
_PG_CREATE = Compiled(_CREATE)
_PG_CREATE_KEYED = Compiled(
    _CREATE.add_cte(insert(KEYS).values(_values(KEYS, KEY_COLUMNS, "k_")).cte("new_key"))
)


_RELAXED = select(literal_column("set_config('synchronous_commit', 'off', true)").label("off")).cte(
    "relaxed"
)
"""The transaction's own ``SET LOCAL synchronous_commit = off``, as a CTE."""


@cache
def _view_updates(names: tuple[str, ...], durable: bool) -> tuple[Compiled, Compiled]:
    """The view update that sets ``names`` only: (portable, PostgreSQL's with the
    event). SQLite rewrites every index on a column an UPDATE sets, changed or not:
    setting every column rewrote all four of the view's indexes per event, the
    primary key's among them. A handful of column sets occur (about one per kind
    of event)."""
    portable = Compiled(update(VIEWS).where(*_WHERE_VERSION), names)
    replaced = (
        update(VIEWS)
        .where(*_WHERE_VERSION)
        .values(_values(VIEWS, names, "v_"))
        .returning(VIEWS.c.order_id)
        .cte("replaced")
    )
    # the event is inserted only if the view row had the expected version
    rows = select(replaced.c.order_id, *_values(EVENTS, EVENT_COLUMNS[1:], "e_").values())
    if not durable:
        rows = rows.select_from(replaced.join(_RELAXED, true()))
    append = insert(EVENTS).from_select(list(EVENT_COLUMNS), rows)
    return portable, Compiled(append)


def insert_order(
    key: Mapping[str, Any] | None, event: Mapping[str, Any], view: Mapping[str, Any]
) -> Change:
    """A new order: its first event, its view and (optional) its idempotency key
    row. A used key raises IntegrityError and leaves nothing."""
    statement = _PG_CREATE if key is None else _PG_CREATE_KEYED
    parts: tuple[tuple[str, Mapping[str, Any]], ...] = (("e_", event), ("v_", view))
    if key is not None:
        parts = (*parts, ("k_", key))

    def steps(connection: Connection) -> int:
        if key is not None:
            _INSERT_KEY.run(connection, key)
        _INSERT_EVENT.run(connection, event)
        return _INSERT_VIEW.run(connection, view)

    return Change(statement, parts, steps)


def replace_view(
    before: OrderView, after: OrderView, event: Mapping[str, Any], *, durable: bool = True
) -> Change:
    """The next event and the view it yields (the columns that changed), only while
    the stored view is still ``before``'s version: the change's row count is 0
    (nothing written) otherwise. Not ``durable``: relaxed (see the module's
    docstring)."""
    columns = view_columns(after)
    names = tuple(name for name in VIEW_FIELDS if getattr(before, name) != getattr(after, name))
    changed = {name: columns[name] for name in names}
    expected = {"expected_order_id": before.order_id, "expected_version": before.version}
    portable, one_statement = _view_updates(names, durable)
    parts = (("e_", event), ("v_", changed), ("", expected))

    def steps(connection: Connection) -> int:
        if portable.run(connection, {**changed, **expected}) != 1:
            return 0
        return _INSERT_EVENT.run(connection, event)

    return Change(one_statement, parts, steps)
