"""What every TR handler shares: its context, its result, the error it raises,
and the request-field readers that answer bad input the way Kiwoom does."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from quantum.kiwoom.errors import ErrorAnswer, business_answer, error_answer

if TYPE_CHECKING:
    from quantum.simulator.core import Simulator
    from quantum.simulator.tokens import IssuedToken

Body = dict[str, Any]


class TrError(Exception):
    """Raised by a handler to answer with a Kiwoom error instead of data."""

    def __init__(self, answer: ErrorAnswer) -> None:
        super().__init__(answer.return_msg)
        self.answer = answer

    @classmethod
    def code(cls, code: int, **params: object) -> TrError:
        return cls(error_answer(code, **params))

    @classmethod
    def business(cls, rc_code: str, text: str) -> TrError:
        return cls(business_answer(rc_code, text))


@dataclass(slots=True)
class TrContext:
    sim: Simulator
    token: IssuedToken
    api_id: str
    next_key: str | None
    """The request's ``next-key`` when it asked to continue (``cont-yn: Y``)."""

    @property
    def account_no(self) -> str:
        return self.token.key.account_no


@dataclass(slots=True)
class TrResult:
    body: Body
    message: str = "정상적으로 처리되었습니다"
    next_key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def cont_yn(self) -> str:
        return "Y" if self.next_key else "N"


Handler = Callable[[TrContext, Body], TrResult]


def text_field(body: Body, name: str, default: str = "") -> str:
    """A field as a string; numbers are accepted, other JSON types are not."""
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TrError.code(1517, param=name, reason="문자열이어야 합니다")
    return str(value).strip()


def int_field(body: Body, name: str, *, minimum: int = 0, default: str = "") -> int:
    """An unsigned integer field. A signed value (``"-182000"``) is a format error."""
    raw = text_field(body, name, default)
    if not raw.isdigit():
        raise TrError.code(1517, param=name, reason="숫자만 입력 가능합니다")
    value = int(raw)
    if value < minimum:
        raise TrError.code(1517, param=name, reason=f"{minimum} 이상이어야 합니다")
    return value


def choice_field(body: Body, name: str, allowed: Collection[str], default: str = "") -> str:
    raw = text_field(body, name, default)
    if raw not in allowed:
        raise TrError.code(1517, param=name, reason=f"허용 값: {','.join(sorted(allowed))}")
    return raw


T = TypeVar("T")


def page_after(
    rows: Sequence[T], key: Callable[[T], str], after: str | None, size: int
) -> tuple[list[T], str | None]:
    """One page of ``rows`` (already in answer order) that come after the row
    whose key is ``after``; the second value is the next page's key or None.

    Keys, not offsets, so rows added while a client pages (a new minute bar)
    never shift a page and repeat a row."""
    start = 0
    if after is not None:
        keys = [key(row) for row in rows]
        if after not in keys:
            raise TrError.code(1517, param="next-key", reason="연속조회키가 올바르지 않습니다")
        start = keys.index(after) + 1
    page = list(rows[start : start + size])
    more = start + size < len(rows)
    return page, (key(page[-1]) if more and page else None)
