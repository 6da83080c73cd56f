"""Helpers the TR handlers share: resolving a requested stock code."""

from __future__ import annotations

from quantum.kiwoom.endpoints import Exchange, split_stock_code
from quantum.simulator.config import Mode
from quantum.simulator.listings import Listing
from quantum.simulator.protocol import Body, TrContext, TrError, text_field


def requested_stock(ctx: TrContext, body: Body, name: str = "stk_cd") -> Listing:
    """The listing a request names; ``_NX``/``_AL`` lines exist only in production."""
    raw = text_field(body, name)
    code, exchange = split_stock_code(raw)
    if exchange is not Exchange.KRX and ctx.sim.config.mode is Mode.MOCK:
        raise TrError.code(1903, stk_cd=raw)
    listing = ctx.sim.listings.get(code)
    if listing is None:
        raise TrError.code(1902, stk_cd=raw)
    return listing
