"""The packaged KRX listings file and its loader's validation."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from quantum.krx.rules import is_on_tick
from quantum.simulator.listings import (
    COLUMNS,
    MARKET_BY_CODE,
    Listing,
    Market,
    load_listings,
)

HEADER = ",".join(COLUMNS)
GOOD_ROW = "005930,삼성전자,KOSPI,71500,5919637922,100,전기전자,대형주,19750611,12"


@pytest.fixture(scope="module")
def listings() -> dict[str, Listing]:
    return load_listings()


def write(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "listings.csv"
    path.write_text("\n".join((header, *rows)) + "\n", encoding="utf-8")
    return path


def test_counts_per_market(listings: dict[str, Listing]) -> None:
    kospi = [item for item in listings.values() if item.market is Market.KOSPI]
    kosdaq = [item for item in listings.values() if item.market is Market.KOSDAQ]
    assert len(kospi) >= 100
    assert len(kosdaq) >= 55
    assert len(listings) >= 160


def test_codes_are_unique_sorted_and_well_formed(listings: dict[str, Listing]) -> None:
    codes = list(listings)
    assert codes == sorted(codes)
    assert all(len(code) == 6 and code.isalnum() for code in codes)
    assert all(listing.code == code for code, listing in listings.items())
    assert len({listing.name for listing in listings.values()}) == len(listings)


def test_every_base_price_is_on_the_tick_grid(listings: dict[str, Listing]) -> None:
    off_grid = [item.code for item in listings.values() if not is_on_tick(item.base_price)]
    assert off_grid == []


def test_numbers_and_dates_are_sane(listings: dict[str, Listing]) -> None:
    for item in listings.values():
        assert item.listed_shares > 0
        assert item.face_value > 0
        assert item.sector
        assert date(1950, 1, 1) <= item.listing_date <= date.today()
        assert len(item.settlement_month) == 2
        assert 1 <= int(item.settlement_month) <= 12


@pytest.mark.parametrize(
    ("code", "name", "market"),
    [
        ("005930", "삼성전자", Market.KOSPI),
        ("005935", "삼성전자우", Market.KOSPI),
        ("000660", "SK하이닉스", Market.KOSPI),
        ("373220", "LG에너지솔루션", Market.KOSPI),
        ("207940", "삼성바이오로직스", Market.KOSPI),
        ("005380", "현대차", Market.KOSPI),
        ("035420", "NAVER", Market.KOSPI),
        ("035720", "카카오", Market.KOSPI),
        ("247540", "에코프로비엠", Market.KOSDAQ),
        ("086520", "에코프로", Market.KOSDAQ),
        ("196170", "알테오젠", Market.KOSDAQ),
    ],
)
def test_known_stocks(listings: dict[str, Listing], code: str, name: str, market: Market) -> None:
    assert listings[code].name == name
    assert listings[code].market is market


def test_samsung_row_is_typed(listings: dict[str, Listing]) -> None:
    samsung = listings["005930"]
    assert samsung.face_value == 100
    assert samsung.listing_date == date(1975, 6, 11)
    assert samsung.settlement_month == "12"
    assert samsung.size_class == "대형주"


def test_market_codes_and_names() -> None:
    assert MARKET_BY_CODE == {"0": Market.KOSPI, "10": Market.KOSDAQ}
    assert (Market.KOSPI.market_code, Market.KOSPI.market_name) == ("0", "거래소")
    assert (Market.KOSDAQ.market_code, Market.KOSDAQ.market_name) == ("10", "코스닥")
    assert Market("KOSDAQ") is Market.KOSDAQ


def test_loads_a_custom_file(tmp_path: Path) -> None:
    other = "0126Z0,예시종목,KOSDAQ,1234,1000000,500,제약,,20250102,3"
    loaded = load_listings(write(tmp_path, other, GOOD_ROW))
    assert list(loaded) == ["005930", "0126Z0"]
    assert loaded["0126Z0"].settlement_month == "03"
    assert loaded["0126Z0"].size_class == ""


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        (GOOD_ROW.replace("005930", "59300"), "code"),
        (GOOD_ROW.replace("005930", "00593a"), "code"),
        (GOOD_ROW.replace(",KOSPI,", ",KONEX,"), "KONEX"),
        (GOOD_ROW.replace("71500", "71550"), "tick grid"),
        (GOOD_ROW.replace("71500", "0"), "positive"),
        (GOOD_ROW.replace("5919637922", "-1"), "positive"),
        (GOOD_ROW.replace(",100,", ",abc,"), "invalid literal"),
        (GOOD_ROW.replace("대형주", "코스닥 대형"), "size_class"),
        (GOOD_ROW.replace("19750611", "19751311"), "does not match|unconverted"),
        (GOOD_ROW.replace(",12", ",13"), "settlement_month"),
        (GOOD_ROW.replace("삼성전자", " "), "name"),
        (GOOD_ROW + ",extra", "columns"),
        (GOOD_ROW.rsplit(",", 1)[0], "columns"),
    ],
)
def test_bad_rows_name_their_line(tmp_path: Path, bad_row: str, message: str) -> None:
    path = write(tmp_path, GOOD_ROW.replace("005930", "000660"), bad_row)
    with pytest.raises(ValueError, match=f"line 3: .*({message})"):
        load_listings(path)


def test_duplicate_code_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="line 3: duplicate code 005930"):
        load_listings(write(tmp_path, GOOD_ROW, GOOD_ROW))


def test_wrong_header_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="header"):
        load_listings(write(tmp_path, GOOD_ROW, header=HEADER.replace("sector", "industry")))
