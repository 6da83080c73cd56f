"""The order state machine as one table: (state, event) -> next state.

Commands (submit, modify, cancel) and broker reports (acks, fills, confirmations)
are both recorded as events; an event not allowed in the current state is
refused before it is written, so ``order_events`` only ever holds legal histories.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType
from typing import Final


class OrderState(StrEnum):
    PENDING_NEW = "PENDING_NEW"
    """Recorded; being sent to the broker."""
    ACCEPTED = "ACCEPTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    PENDING_CANCEL = "PENDING_CANCEL"
    PENDING_MODIFY = "PENDING_MODIFY"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"
    """Sent, but no answer (timeout, 5xx): never re-sent; reconciliation decides."""

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES

    @property
    def is_open(self) -> bool:
        """Working at the broker (can fill, can be cancelled or modified)."""
        return self in OPEN_STATES


class EventType(StrEnum):
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCEL_REQUESTED = "CANCEL_REQUESTED"
    CANCEL_REJECTED = "CANCEL_REJECTED"
    CANCELLED = "CANCELLED"
    MODIFY_REQUESTED = "MODIFY_REQUESTED"
    MODIFY_REJECTED = "MODIFY_REJECTED"
    MODIFIED = "MODIFIED"
    EXPIRED = "EXPIRED"


S, E = OrderState, EventType

FINAL_STATES: Final = frozenset({S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED})
OPEN_STATES: Final = frozenset({S.ACCEPTED, S.PARTIALLY_FILLED})

_WORKING = (S.ACCEPTED, S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.PENDING_MODIFY)
"""States in which the broker holds the order: fills may arrive in any of them."""

_TABLE: dict[tuple[OrderState | None, EventType], OrderState] = {
    (None, E.SUBMITTED): S.PENDING_NEW,
    (S.PENDING_NEW, E.ACCEPTED): S.ACCEPTED,
    (S.PENDING_NEW, E.REJECTED): S.REJECTED,
    (S.PENDING_NEW, E.OUTCOME_UNKNOWN): S.OUTCOME_UNKNOWN,
    # reconciliation finds the order (and maybe its fills), or proves it never arrived
    (S.OUTCOME_UNKNOWN, E.ACCEPTED): S.ACCEPTED,
    (S.OUTCOME_UNKNOWN, E.REJECTED): S.REJECTED,
    # a fill report may overtake the acknowledgement
    (S.PENDING_NEW, E.PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.PENDING_NEW, E.FILLED): S.FILLED,
    (S.OUTCOME_UNKNOWN, E.PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.OUTCOME_UNKNOWN, E.FILLED): S.FILLED,
    (S.ACCEPTED, E.CANCEL_REQUESTED): S.PENDING_CANCEL,
    (S.PARTIALLY_FILLED, E.CANCEL_REQUESTED): S.PENDING_CANCEL,
    (S.ACCEPTED, E.MODIFY_REQUESTED): S.PENDING_MODIFY,
    (S.PARTIALLY_FILLED, E.MODIFY_REQUESTED): S.PENDING_MODIFY,
    (S.PENDING_CANCEL, E.CANCELLED): S.CANCELLED,
    (S.ACCEPTED, E.CANCELLED): S.CANCELLED,
    (S.PARTIALLY_FILLED, E.CANCELLED): S.CANCELLED,
    (S.PENDING_MODIFY, E.CANCELLED): S.CANCELLED,
    (S.ACCEPTED, E.EXPIRED): S.EXPIRED,
    (S.PARTIALLY_FILLED, E.EXPIRED): S.EXPIRED,
    (S.ACCEPTED, E.MODIFIED): S.ACCEPTED,
}
for _state in _WORKING:
    _TABLE[(_state, E.PARTIALLY_FILLED)] = (
        _state if _state in (S.PENDING_CANCEL, S.PENDING_MODIFY) else S.PARTIALLY_FILLED
    )
    _TABLE[(_state, E.FILLED)] = S.FILLED
_TABLE[(S.PARTIALLY_FILLED, E.MODIFIED)] = S.PARTIALLY_FILLED

TRANSITIONS: Final = MappingProxyType(_TABLE)

RETURNS_TO_PRIOR: Final = MappingProxyType(
    {
        E.CANCEL_REJECTED: frozenset({S.PENDING_CANCEL, S.PENDING_MODIFY}),
        E.MODIFY_REJECTED: frozenset({S.PENDING_CANCEL, S.PENDING_MODIFY}),
        E.MODIFIED: frozenset({S.PENDING_MODIFY}),
    }
)
"""Events that end a pending request in the given states: the order goes back to
the state it had before the request (accepted, or partially filled)."""


class InvalidTransition(Exception):
    def __init__(self, state: OrderState | None, event: EventType) -> None:
        super().__init__(f"{event.value} is not allowed in state {state}")
        self.state = state
        self.event = event


def next_state(
    state: OrderState | None, event: EventType, prior: OrderState | None = None
) -> OrderState:
    """The state after ``event``; ``prior`` is the state before a pending request."""
    pending = RETURNS_TO_PRIOR.get(event)
    if pending is not None and state in pending:
        if prior is None:
            raise InvalidTransition(state, event)
        return prior
    if event in (E.CANCEL_REJECTED, E.MODIFY_REJECTED):
        raise InvalidTransition(state, event)
    found = TRANSITIONS.get((state, event))
    if found is None:
        raise InvalidTransition(state, event)
    return found
