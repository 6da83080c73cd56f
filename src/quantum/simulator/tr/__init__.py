"""TR handlers by api-id; each module serves one category of TRs."""

from __future__ import annotations

from quantum.simulator.protocol import Handler
from quantum.simulator.tr import account, charts, market_data, orders

HANDLERS: dict[str, Handler] = {
    **account.HANDLERS,
    **charts.HANDLERS,
    **market_data.HANDLERS,
    **orders.HANDLERS,
}
