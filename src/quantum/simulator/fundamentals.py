"""Company figures the simulator shows in ka10001 (PER, EPS, sales, ...).

The market has no real financial statements, so each stock gets plausible,
seeded figures that stay fixed for a seed: the same simulator shows the same
company every run, and the ratios agree with each other and with the price.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from quantum.simulator.listings import Listing
from quantum.simulator.pricing import stable_seed

HUNDRED_MILLION = 100_000_000
"""억원: the unit of cap, mac, sale_amt, bus_pro, cup_nga."""


@dataclass(frozen=True, slots=True)
class Fundamentals:
    per: Decimal
    eps: int
    roe: Decimal
    pbr: Decimal
    bps: int
    ev: Decimal
    sales: int
    operating_profit: int
    net_income: int
    credit_ratio: Decimal
    foreign_exhaustion: Decimal
    float_ratio: Decimal
    fiscal_month: str


def _two(value: float) -> Decimal:
    return Decimal(str(round(value, 2)))


@lru_cache(maxsize=4096)
def fundamentals_for(seed: int, listing: Listing) -> Fundamentals:
    rng = random.Random(stable_seed(seed, listing.code, "fundamentals"))
    per = rng.uniform(5.0, 40.0)
    pbr = rng.uniform(0.4, 4.0)
    eps = max(1, round(listing.base_price / per))
    bps = max(1, round(listing.base_price / pbr))
    net_income = max(1, eps * listing.listed_shares // HUNDRED_MILLION)
    margin = rng.uniform(0.03, 0.25)
    sales = max(net_income + 1, round(net_income / max(margin * 0.7, 0.01)))
    return Fundamentals(
        per=_two(per),
        eps=eps,
        roe=_two(100.0 * eps / bps),
        pbr=_two(pbr),
        bps=bps,
        ev=_two(per * rng.uniform(0.6, 1.1)),
        sales=sales,
        operating_profit=round(sales * margin),
        net_income=net_income,
        credit_ratio=_two(rng.uniform(0.0, 3.0)),
        foreign_exhaustion=_two(rng.uniform(1.0, 55.0)),
        float_ratio=_two(rng.uniform(40.0, 95.0)),
        fiscal_month=listing.settlement_month,
    )
