"""Kiwoom's TRs as one table: which path serves each api-id, what its request
body requires, where its rows are, and what the mock host does with it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

TOKEN_PATH = "/oauth2/token"
REVOKE_PATH = "/oauth2/revoke"
WEBSOCKET_PATH = "/api/dostk/websocket"
DOSTK_PREFIX = "/api/dostk/"


class Category(StrEnum):
    """The URL segment after ``/api/dostk/``."""

    ACCOUNT = "acnt"
    STOCK_INFO = "stkinfo"
    MARKET = "mrkcond"
    CHART = "chart"
    ORDER = "ordr"
    CREDIT_ORDER = "crdordr"
    RANKING = "rkinfo"
    SECTOR = "sect"
    INSTITUTION = "frgnistt"
    ELW = "elw"
    ETF = "etf"
    SHORT_SELLING = "shsa"
    LENDING = "slb"
    THEME = "thme"
    WATCHLIST = "watchlist"

    @property
    def path(self) -> str:
        return f"{DOSTK_PREFIX}{self.value}"


class MockSupport(StrEnum):
    """What the mock host (모의투자) does with a TR (PROTOCOL.md §9)."""

    SUPPORTED = "supported"
    UNSUPPORTED_API = "8104"
    """Answered ``return_code 2 … [8104:모의투자에서 지원하지 않는 API 입니다.]``."""
    UNSUPPORTED_BUSINESS = "RC9000"
    """Answered ``[2000](RC9000:모의투자에서는 해당업무가 제공되지 않습니다.)``."""


@dataclass(frozen=True, slots=True)
class TrSpec:
    api_id: str
    category: Category
    title: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    list_key: str | None = None
    mock: MockSupport = MockSupport.SUPPORTED

    @property
    def path(self) -> str:
        return self.category.path


_A, _S, _M, _C, _O = (
    Category.ACCOUNT,
    Category.STOCK_INFO,
    Category.MARKET,
    Category.CHART,
    Category.ORDER,
)
_CHART_DAY = ("stk_cd", "base_dt", "upd_stkpc_tp")
_ORDER = ("dmst_stex_tp", "stk_cd", "ord_qty", "trde_tp")
_NO_MOCK = MockSupport.UNSUPPORTED_BUSINESS

TRS: dict[str, TrSpec] = {
    t.api_id: t
    for t in (
        TrSpec("ka00001", _A, "계좌번호조회"),
        TrSpec("kt00001", _A, "예수금상세현황요청", ("qry_tp",), list_key="stk_entr_prst"),
        TrSpec(
            "kt00018",
            _A,
            "계좌평가잔고내역요청",
            ("qry_tp", "dmst_stex_tp"),
            list_key="acnt_evlt_remn_indv_tot",
        ),
        TrSpec(
            "ka10075", _A, "미체결요청", ("all_stk_tp", "trde_tp", "stex_tp"), ("stk_cd",), "oso"
        ),
        TrSpec(
            "ka10076",
            _A,
            "체결요청",
            ("qry_tp", "sell_tp", "stex_tp"),
            ("stk_cd", "ord_no"),
            "cntr",
        ),
        TrSpec("ka10001", _S, "주식기본정보요청", ("stk_cd",)),
        TrSpec("ka10099", _S, "종목정보 리스트", ("mrkt_tp",), list_key="list"),
        TrSpec("ka10004", _M, "주식호가요청", ("stk_cd",)),
        TrSpec(
            "ka10079",
            _C,
            "주식틱차트조회요청",
            ("stk_cd", "tic_scope", "upd_stkpc_tp"),
            list_key="stk_tic_chart_qry",
        ),
        TrSpec(
            "ka10080",
            _C,
            "주식분봉차트조회요청",
            ("stk_cd", "tic_scope", "upd_stkpc_tp"),
            ("base_dt",),
            "stk_min_pole_chart_qry",
        ),
        TrSpec("ka10081", _C, "주식일봉차트조회요청", _CHART_DAY, list_key="stk_dt_pole_chart_qry"),
        TrSpec(
            "ka10082", _C, "주식주봉차트조회요청", _CHART_DAY, list_key="stk_stk_pole_chart_qry"
        ),
        TrSpec(
            "ka10083", _C, "주식월봉차트조회요청", _CHART_DAY, list_key="stk_mth_pole_chart_qry"
        ),
        TrSpec("ka10094", _C, "주식년봉차트조회요청", _CHART_DAY, list_key="stk_yr_pole_chart_qry"),
        TrSpec("kt10000", _O, "주식 매수주문", _ORDER, ("ord_uv", "cond_uv")),
        TrSpec("kt10001", _O, "주식 매도주문", _ORDER, ("ord_uv", "cond_uv")),
        TrSpec(
            "kt10002",
            _O,
            "주식 정정주문",
            ("dmst_stex_tp", "orig_ord_no", "stk_cd", "mdfy_qty", "mdfy_uv"),
            ("mdfy_cond_uv",),
        ),
        TrSpec(
            "kt10003", _O, "주식 취소주문", ("dmst_stex_tp", "orig_ord_no", "stk_cd", "cncl_qty")
        ),
        # Known TRs the mock host refuses (PROTOCOL.md §9); the simulator serves none of them.
        TrSpec("ka01690", _A, "일별잔고수익률", mock=MockSupport.UNSUPPORTED_API),
        TrSpec("kt00002", _A, "일별추정예탁자산현황요청", mock=_NO_MOCK),
        TrSpec("kt00005", _A, "체결잔고요청", mock=_NO_MOCK),
        TrSpec("kt00012", _A, "신용보증금율별주문가능수량조회요청", mock=_NO_MOCK),
        TrSpec("kt00015", _A, "위탁종합거래내역요청", mock=_NO_MOCK),
        TrSpec("kt00016", _A, "일별계좌수익률상세현황요청", mock=_NO_MOCK),
        TrSpec("kt00017", _A, "계좌별당일현황요청", mock=_NO_MOCK),
        TrSpec("kt20016", _S, "신용융자 가능종목요청", mock=_NO_MOCK),
        TrSpec("kt20017", _S, "신용융자 가능문의", mock=_NO_MOCK),
        TrSpec("kt50020", _A, "금현물 잔고확인", mock=_NO_MOCK),
        TrSpec("kt50021", _A, "금현물 예수금", mock=_NO_MOCK),
        TrSpec("kt50032", _A, "금현물 거래내역조회", mock=_NO_MOCK),
    )
}

CATEGORY_BY_SEGMENT: dict[str, Category] = {c.value: c for c in Category}


class Exchange(StrEnum):
    """``dmst_stex_tp`` values; mock accepts KRX only."""

    KRX = "KRX"
    NXT = "NXT"
    SOR = "SOR"


STOCK_CODE_SUFFIX: dict[str, Exchange] = {"_NX": Exchange.NXT, "_AL": Exchange.SOR}
"""``005930_NX`` is the NXT line of 005930, ``005930_AL`` smart routing."""


def split_stock_code(code: str) -> tuple[str, Exchange]:
    """``"005930_NX"`` → ``("005930", NXT)``; plain codes are KRX."""
    for suffix, exchange in STOCK_CODE_SUFFIX.items():
        if code.endswith(suffix):
            return code[: -len(suffix)], exchange
    return code, Exchange.KRX


ACCOUNT_CODE_PREFIX = "A"
"""Account TRs show stock codes as ``A005930``."""
