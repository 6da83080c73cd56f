"""The caller's portfolio: cash, holdings valued live, totals, today's realized P&L."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from quantum.platform.api.deps import PlatformDep, Trader
from quantum.platform.api.responses import CALLS_KIWOOM, SIGNED_IN
from quantum.platform.api.routing import DeclaredQueryRoute
from quantum.platform.api.schemas import Camel
from quantum.platform.trading.portfolio import Portfolio, PortfolioService, Position

router = APIRouter(
    route_class=DeclaredQueryRoute,
    prefix="/api/v1/portfolio",
    tags=["portfolio"],
    responses=SIGNED_IN | CALLS_KIWOOM,
)

RATE = "a decimal fraction rounded to 4 places (0.0123 is 1.23%)"


class HoldingOut(Camel):
    stock_code: str
    name: str
    quantity: int
    sellable_quantity: int
    average_price: int
    purchase_amount: int
    price: int = Field(description="the live price kt00018 valued the holding at")
    evaluation: int
    profit: int = Field(description="after the broker's commissions and tax (kt00018)")
    profit_rate: float = Field(description=f"profit / purchaseAmount, {RATE}")

    @classmethod
    def of(cls, position: Position) -> HoldingOut:
        return cls(
            stock_code=position.stock_code,
            name=position.name,
            quantity=position.quantity,
            sellable_quantity=position.sellable_quantity,
            average_price=position.average_price,
            purchase_amount=position.purchase_amount,
            price=position.price,
            evaluation=position.evaluation,
            profit=position.profit,
            profit_rate=float(position.profit_rate),
        )


class PortfolioOut(Camel):
    kiwoom_account_id: str
    cash: int = Field(description="deposit (kt00001 entr)")
    buying_power: int = Field(description="orderable cash (kt00001 ord_alow_amt)")
    withdrawable: int = Field(description="kt00001 pymn_alow_amt")
    holdings: list[HoldingOut]
    total_purchase: int
    total_evaluation: int
    total_profit: int
    total_profit_rate: float = Field(description=f"totalProfit / totalPurchase, {RATE}")
    estimated_assets: int
    realized_profit_today: int = Field(
        description="today's (KST) sells by the average-cost method over the platform's "
        "fills; fees and taxes not deducted"
    )
    trading_day: date = Field(description="the KST day realizedProfitToday covers")
    open_orders: int = Field(description="the caller's orders that may still fill")
    as_of: datetime

    @classmethod
    def of(cls, portfolio: Portfolio) -> PortfolioOut:
        return cls(
            kiwoom_account_id=portfolio.kiwoom_account_id,
            cash=portfolio.cash,
            buying_power=portfolio.buying_power,
            withdrawable=portfolio.withdrawable,
            holdings=[HoldingOut.of(p) for p in portfolio.holdings],
            total_purchase=portfolio.total_purchase,
            total_evaluation=portfolio.total_evaluation,
            total_profit=portfolio.total_profit,
            total_profit_rate=float(portfolio.total_profit_rate),
            estimated_assets=portfolio.estimated_assets,
            realized_profit_today=portfolio.realized.total,
            trading_day=portfolio.trading_day,
            open_orders=portfolio.open_orders,
            as_of=portfolio.as_of,
        )


async def portfolio_service(request: Request, platform: PlatformDep) -> PortfolioService:
    """One service per app, built on first use from the platform's broker and store."""
    service: PortfolioService | None = getattr(request.app.state, "portfolio", None)
    if (
        service is None
        or service.broker is not platform.broker
        or service.store is not platform.orders.store
    ):
        service = PortfolioService(platform.broker, platform.orders.store)
        request.app.state.portfolio = service
    return service


Portfolios = Annotated[PortfolioService, Depends(portfolio_service)]


@router.get("", response_model=PortfolioOut)
async def get_portfolio(trader: Trader, portfolios: Portfolios) -> PortfolioOut:
    """Cash and buying power (kt00001), holdings valued at the price kt00018 reports
    (Kiwoom's live valuation; no extra quote calls), totals, today's realized P&L
    from the platform's own order events, and the count of open orders. 409 before
    credentials are stored."""
    return PortfolioOut.of(await portfolios.portfolio(trader.user_id, trader.trading))
