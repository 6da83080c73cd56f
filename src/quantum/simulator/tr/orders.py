"""Order TRs: kt10000 buy, kt10001 sell, kt10002 modify, kt10003 cancel."""

from __future__ import annotations

from collections.abc import Callable

from quantum.kiwoom.endpoints import Exchange
from quantum.kiwoom.wire import ORDER_QTY_WIDTH, padded
from quantum.simulator.config import Mode
from quantum.simulator.engine import Order, OrderRejected, Side
from quantum.simulator.engine.order_types import lookup
from quantum.simulator.protocol import (
    Body,
    Handler,
    TrContext,
    TrError,
    TrResult,
    choice_field,
    int_field,
    text_field,
)
from quantum.simulator.rejections import rejection_answer
from quantum.simulator.tr.common import requested_stock

EXCHANGES = frozenset(exchange.value for exchange in Exchange)
SIDE_WORD = {Side.BUY: "매수", Side.SELL: "매도"}


def _exchange(ctx: TrContext, body: Body) -> str:
    exchange = choice_field(body, "dmst_stex_tp", EXCHANGES)
    if ctx.sim.config.mode is Mode.MOCK and exchange != Exchange.KRX:
        raise TrError.code(1517, param="dmst_stex_tp", reason="모의투자는 KRX만 가능합니다")
    return exchange


def _optional_price(body: Body, name: str) -> int | None:
    """``""``/absent means no price; otherwise an unsigned integer (signed → 1517)."""
    if not text_field(body, name):
        return None
    return int_field(body, name, minimum=1)


def _order_no(body: Body, name: str) -> str:
    raw = text_field(body, name)
    if not raw.isdigit() or len(raw) > 10:
        raise TrError.code(1517, param=name, reason="주문번호 형식이 아닙니다")
    return raw.zfill(7)


def _place(side: Side) -> Handler:
    def handler(ctx: TrContext, body: Body) -> TrResult:
        exchange = _exchange(ctx, body)
        listing = requested_stock(ctx, body)
        qty = int_field(body, "ord_qty", minimum=1)
        trde_tp = text_field(body, "trde_tp")
        spec = lookup(trde_tp)
        if spec is None:
            raise TrError.code(1517, param="trde_tp", reason="지원하지 않는 매매구분입니다")
        price = _optional_price(body, "ord_uv")
        stop = _optional_price(body, "cond_uv")
        if spec.needs_price and price is None:
            raise TrError.code(1511, param="ord_uv")
        mode = ctx.sim.config.mode
        order = _engine(
            ctx,
            listing.code,
            lambda: ctx.sim.engine.submit(
                ctx.account_no,
                side,
                listing.code,
                qty,
                spec.code,
                price if spec.needs_price else None,
                stop_price=stop,
            ),
        )
        word = SIDE_WORD[side]
        message = (
            f"모의투자 {word}주문완료"
            if mode is Mode.MOCK
            else f"{exchange} {word}주문이 완료되었습니다."
        )
        return TrResult({"ord_no": order.order_no, "dmst_stex_tp": exchange}, message)

    return handler


def _engine(ctx: TrContext, code: str, action: Callable[[], Order]) -> Order:
    """Run an engine call, answering its rejection the Kiwoom way."""
    try:
        return action()
    except OrderRejected as exc:
        raise TrError(rejection_answer(exc.reason, ctx.sim.config.mode, code)) from exc


def _amend(
    ctx: TrContext, body: Body, qty_field: str, action: str, call: Callable[[str, str, int], Order]
) -> tuple[Order, str, str, str]:
    """What modify and cancel share: the original order, the quantity (0 = the
    whole remainder) and the answer text. Returns (order, orig no, exchange, message)."""
    exchange = _exchange(ctx, body)
    orig = _order_no(body, "orig_ord_no")
    listing = requested_stock(ctx, body)
    qty = int_field(body, qty_field)
    order = _engine(ctx, listing.code, lambda: call(orig, listing.code, qty))
    word = SIDE_WORD[order.side]
    if ctx.sim.config.mode is Mode.MOCK:
        return order, orig, exchange, f"모의투자 {word}{action} 주문완료"
    return order, orig, exchange, f"{word}{action} 주문입력이 완료되었습니다"


def modify_order(ctx: TrContext, body: Body) -> TrResult:
    """kt10002: the modified quantity becomes a new order at the new price."""
    price = int_field(body, "mdfy_uv", minimum=1)

    def modify(orig: str, code: str, qty: int) -> Order:
        return ctx.sim.engine.modify(ctx.account_no, orig, code, qty, price)

    order, orig, exchange, message = _amend(ctx, body, "mdfy_qty", "정정", modify)
    fields = {
        "ord_no": order.order_no,
        "base_orig_ord_no": orig,
        "mdfy_qty": padded(order.qty, ORDER_QTY_WIDTH),
        "dmst_stex_tp": exchange,
    }
    return TrResult(fields, message)


def cancel_order(ctx: TrContext, body: Body) -> TrResult:
    """kt10003: no ``dmst_stex_tp`` in the answer (PROTOCOL.md §6.5)."""

    def cancel(orig: str, code: str, qty: int) -> Order:
        return ctx.sim.engine.cancel(ctx.account_no, orig, code, qty)

    order, orig, _, message = _amend(ctx, body, "cncl_qty", "취소", cancel)
    fields = {
        "ord_no": order.order_no,
        "base_orig_ord_no": orig,
        "cncl_qty": padded(order.qty, ORDER_QTY_WIDTH),
    }
    return TrResult(fields, message)


HANDLERS: dict[str, Handler] = {
    "kt10000": _place(Side.BUY),
    "kt10001": _place(Side.SELL),
    "kt10002": modify_order,
    "kt10003": cancel_order,
}
