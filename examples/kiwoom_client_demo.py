"""The Kiwoom client library on its own: quote, chart, order, balance, live trades.

Run the simulator first (``quantum simulator --port 8200``), or set
KIWOOM_REST_URL / KIWOOM_SANDBOX_APP_KEY / KIWOOM_SANDBOX_APP_SECRET for Kiwoom's mock host.
"""

from __future__ import annotations

import asyncio
import os
from datetime import date

from quantum.kiwoom.client import KiwoomClient
from quantum.kiwoom.events import TradeEvent
from quantum.kiwoom.orders import OrderType
from quantum.kiwoom.settings import KiwoomSettings
from quantum.kiwoom.stream import KiwoomStream


async def main() -> None:
    if os.environ.get("KIWOOM_REST_URL"):
        settings = KiwoomSettings()  # the guide's KIWOOM_* variables
    else:
        settings = KiwoomSettings.for_url("http://127.0.0.1:8200", "demo-key", "demo-secret")
    async with KiwoomClient.from_settings(settings) as client:
        quote = await client.stock_info("005930")
        print(f"{quote.name} {quote.price:,} KRW ({quote.change_rate:+}%)")
        candles = await client.daily_chart("005930", date.today(), max_rows=5)
        print("last closes:", [c.close for c in candles])
        book = await client.order_book("005930")
        ack = await client.buy("005930", 1, OrderType.LIMIT, price=book.asks[0].price)
        print("order", ack.order_no)
        balance = await client.balance()
        print("holdings:", [(h.code, h.qty, h.avg_price) for h in balance.holdings])

        async def token(force: bool) -> str:
            return (await client.transport.tokens.get(force_refresh=force)).secret()

        async with KiwoomStream(settings.ws_url, token) as stream:
            await stream.subscribe(["005930"], ("0B",))
            async for event in stream.events():
                if isinstance(event, TradeEvent):
                    print("trade", event.code, event.price, event.qty)
                    break


if __name__ == "__main__":
    asyncio.run(main())
