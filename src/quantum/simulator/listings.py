"""Real KRX listings the simulator trades, loaded from ``data/krx_listings.csv``.

The CSV is hand-kept reference data (codes and names as KRX lists them; prices,
share counts and dates are plausible recent values, not a live feed), so every
row is checked on load and a bad edit fails loudly with its line number instead
of surfacing later as an off-grid price in the order book.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path

from quantum.krx.rules import is_on_tick

DEFAULT_PATH = Path(__file__).parent / "data" / "krx_listings.csv"

COLUMNS = (
    "code",
    "name",
    "market",
    "base_price",
    "listed_shares",
    "face_value",
    "sector",
    "size_class",
    "listing_date",
    "settlement_month",
)

#: KRX short codes: six digits, or digits with capital letters for newer issues.
_CODE = re.compile(r"[0-9A-Z]{6}")


class Market(StrEnum):
    KOSPI = "KOSPI"
    KOSDAQ = "KOSDAQ"

    @property
    def market_code(self) -> str:
        """Kiwoom's ``marketCode`` (also its ``mrkt_tp`` request value)."""
        return _MARKET_CODE[self]

    @property
    def market_name(self) -> str:
        """Kiwoom's ``marketName``."""
        return _MARKET_NAME[self]


_MARKET_CODE: dict[Market, str] = {Market.KOSPI: "0", Market.KOSDAQ: "10"}
_MARKET_NAME: dict[Market, str] = {Market.KOSPI: "거래소", Market.KOSDAQ: "코스닥"}

#: Kiwoom ``mrkt_tp`` / ``marketCode`` → market.
MARKET_BY_CODE: dict[str, Market] = {code: market for market, code in _MARKET_CODE.items()}

#: Allowed ``size_class`` values (KRX 시가총액 규모) per market.
SIZE_CLASSES: dict[Market, frozenset[str]] = {
    Market.KOSPI: frozenset({"대형주", "중형주", "소형주"}),
    Market.KOSDAQ: frozenset({"", "코스닥 대형", "코스닥 중형", "코스닥 소형"}),
}


@dataclass(frozen=True, slots=True)
class Listing:
    """One listed stock; ``base_price`` seeds the simulation (KRW, on the tick grid)."""

    code: str
    name: str
    market: Market
    base_price: int
    listed_shares: int
    face_value: int
    sector: str
    size_class: str
    listing_date: date
    settlement_month: str  # "12", two digits, as Kiwoom's setl_mm


def _positive(field: str, text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError(f"{field} must be positive, got {value}")
    return value


def _parse(row: dict[str, str]) -> Listing:
    code = row["code"]
    if not _CODE.fullmatch(code):
        raise ValueError(f"code must be 6 digits/capitals, got {code!r}")
    if not row["name"].strip():
        raise ValueError("name is empty")
    market = Market(row["market"])
    base_price = _positive("base_price", row["base_price"])
    if not is_on_tick(base_price):
        raise ValueError(f"base_price {base_price} is not on the KRX tick grid")
    if row["size_class"] not in SIZE_CLASSES[market]:
        raise ValueError(f"size_class {row['size_class']!r} is not valid for {market}")
    month = int(row["settlement_month"])
    if not 1 <= month <= 12:
        raise ValueError(f"settlement_month must be 1..12, got {month}")
    return Listing(
        code=code,
        name=row["name"].strip(),
        market=market,
        base_price=base_price,
        listed_shares=_positive("listed_shares", row["listed_shares"]),
        face_value=_positive("face_value", row["face_value"]),
        sector=row["sector"].strip(),
        size_class=row["size_class"],
        listing_date=datetime.strptime(row["listing_date"], "%Y%m%d").date(),
        settlement_month=f"{month:02d}",
    )


def load_listings(path: Path | None = None) -> dict[str, Listing]:
    """All listings by code, ascending; ``ValueError`` naming the line of any bad row."""
    source = path or DEFAULT_PATH
    listings: dict[str, Listing] = {}
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{source.name}: header must be {','.join(COLUMNS)}")
        for row in reader:
            where = f"{source.name} line {reader.line_num}"
            if None in row or None in row.values():
                raise ValueError(f"{where}: expected {len(COLUMNS)} columns")
            try:
                listing = _parse(row)
            except ValueError as error:
                raise ValueError(f"{where}: {error}") from error
            if listing.code in listings:
                raise ValueError(f"{where}: duplicate code {listing.code}")
            listings[listing.code] = listing
    return dict(sorted(listings.items()))
