"""The Broker: what the platform asks of Kiwoom, whether the adapter runs in
its process or behind ``KIWOOM_ADAPTER_URL``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from pydantic import SecretStr

from quantum.adapter.schema import (
    Balance,
    BrokerOrder,
    CancelRequest,
    Chart,
    Deposit,
    Environment,
    Listing,
    ModifyRequest,
    OrderAck,
    OrderBook,
    OrderRequest,
    Period,
    Quote,
    RealtimeMessage,
    TokenInfo,
)
from quantum.kiwoom.settings import key_fingerprint


@dataclass(frozen=True)
class Credentials:
    """One Kiwoom app key. ``None`` credentials mean "the adapter's configured keys"."""

    app_key: SecretStr
    app_secret: SecretStr
    environment: Environment = Environment.MOCK

    @property
    def fingerprint(self) -> str:
        """How logs, metrics and the health page name this key without showing it."""
        return key_fingerprint(self.app_key.get_secret_value())


def quote_key(stock_code: str, credentials: Credentials | None) -> tuple[str, str]:
    """What a cached quote is shared by: a quote is the same for every key on one
    host, and the host follows from the environment (without credentials: the
    configured key's host)."""
    return (credentials.environment.value if credentials else "default", stock_code)


class BrokerError(Exception):
    """A failure the caller should see; ``status`` is the HTTP status to answer with."""

    status = 502
    code = "broker_error"

    def __init__(self, message: str, *, kiwoom_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.kiwoom_code = kiwoom_code


class BrokerInputError(BrokerError):
    status = 422
    code = "invalid_input"


class BrokerNotFound(BrokerError):
    status = 404
    code = "not_found"


class BrokerAuthError(BrokerError):
    status = 401
    code = "broker_auth_failed"


class BrokerRateLimited(BrokerError):
    status = 429
    code = "rate_limited"

    def __init__(
        self, message: str, *, retry_after: float = 1.0, kiwoom_code: str | None = None
    ) -> None:
        super().__init__(message, kiwoom_code=kiwoom_code)
        self.retry_after = retry_after


class BrokerRejected(BrokerError):
    """Kiwoom's back office refused (insufficient cash, market closed, ...)."""

    status = 409
    code = "rejected"


class BrokerUnavailable(BrokerError):
    status = 503
    code = "broker_unavailable"


class OrderOutcomeUnknown(BrokerError):
    """The order may or may not have reached Kiwoom; never re-send it blindly."""

    status = 504
    code = "order_outcome_unknown"


class Subscription(Protocol):
    """A live feed of normalized realtime messages for one consumer."""

    def messages(self) -> AsyncIterator[RealtimeMessage]: ...

    async def add(self, stock_codes: list[str]) -> None: ...

    async def remove(self, stock_codes: list[str]) -> None: ...

    async def close(self) -> None: ...


class Broker(Protocol):
    async def token(self, credentials: Credentials | None = None) -> TokenInfo: ...

    async def verify_credentials(self, credentials: Credentials) -> TokenInfo:
        """Issue a token with exactly this pair at Kiwoom (no cache): the check before a
        key pair is stored. Refused: :class:`BrokerAuthError`."""
        ...

    async def quote(self, stock_code: str, credentials: Credentials | None = None) -> Quote: ...

    async def order_book(
        self, stock_code: str, credentials: Credentials | None = None
    ) -> OrderBook: ...

    async def listings(
        self, market: str, credentials: Credentials | None = None
    ) -> list[Listing]: ...

    async def chart(
        self,
        stock_code: str,
        period: Period,
        *,
        count: int = 200,
        until: date | None = None,
        credentials: Credentials | None = None,
    ) -> Chart: ...

    async def place_order(
        self, order: OrderRequest, credentials: Credentials | None = None
    ) -> OrderAck: ...

    async def modify_order(
        self, order_no: str, change: ModifyRequest, credentials: Credentials | None = None
    ) -> OrderAck: ...

    async def cancel_order(
        self, order_no: str, cancel: CancelRequest, credentials: Credentials | None = None
    ) -> OrderAck: ...

    async def open_orders(self, credentials: Credentials | None = None) -> list[BrokerOrder]: ...

    async def fills(self, credentials: Credentials | None = None) -> list[BrokerOrder]: ...

    async def deposit(self, credentials: Credentials | None = None) -> Deposit: ...

    async def balance(self, credentials: Credentials | None = None) -> Balance: ...

    async def subscribe(
        self,
        stock_codes: list[str],
        credentials: Credentials | None = None,
        *,
        orders: bool = False,
    ) -> Subscription:
        """Realtime ticks of ``stock_codes`` (may be empty: add codes later); with
        ``orders`` also every ``ORDER`` message (Kiwoom 00 주문체결) of the app key,
        ready before this returns and never conflated."""
        ...

    async def close(self) -> None: ...
