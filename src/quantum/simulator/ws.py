"""``GET /api/dostk/websocket``: LOGIN, PING, REG/REMOVE and REAL pushes
(PROTOCOL.md §8).

A session must LOGIN within the grace period (else SYSTEM R10004 and close);
the server PINGs at an interval and closes after too many unanswered PINGs
(SYSTEM R10002). Outgoing frames go through a bounded queue drained by one
writer task, so pushes never wait on a slow client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from quantum.kiwoom.endpoints import Exchange, split_stock_code
from quantum.kiwoom.realtime import (
    ACCOUNT_TYPES,
    LOGIN_FAILED_CODE,
    LOGIN_FAILED_MESSAGE,
    REALTIME_TYPES,
    SYSTEM_MESSAGES,
    SystemCode,
    Trnm,
)
from quantum.simulator.config import Mode
from quantum.simulator.hub import Registration
from quantum.simulator.keys import AppKey

if TYPE_CHECKING:
    from quantum.simulator.core import Simulator

log = logging.getLogger(__name__)

OUTGOING_LIMIT = 10_000
"""Frames queued for one client before it is cut off as too slow."""
SLOW_CLIENT_CLOSE = 1008
DROPPED_CLOSE = 1011


def _dumps(message: dict[str, Any]) -> str:
    return orjson.dumps(message).decode()


def system_frame(code: SystemCode) -> str:
    return _dumps({"trnm": Trnm.SYSTEM, "code": code.value, "message": SYSTEM_MESSAGES[code]})


class RegistrationError(ValueError):
    pass


class Session:
    """One client connection."""

    def __init__(self, sim: Simulator, websocket: WebSocket) -> None:
        self._sim = sim
        self._ws = websocket
        self.key: AppKey | None = None
        self.groups: dict[str, set[Registration]] = {}
        self.signature: frozenset[Registration] = frozenset()
        self.account_types: frozenset[str] = frozenset()
        self.silent = False
        self.awaiting_echo = False
        self.missed_pings = 0
        self._outgoing: asyncio.Queue[str | None] = asyncio.Queue(OUTGOING_LIMIT)
        self._closing = False
        self.close_code: int | None = None

    @property
    def account_no(self) -> str | None:
        return self.key.account_no if self.key is not None else None

    @property
    def fingerprint(self) -> str | None:
        return self.key.fingerprint if self.key is not None else None

    # ----------------------------------------------------------------- output

    def enqueue(self, frame: str) -> None:
        if self._closing or self.silent:
            return
        try:
            self._outgoing.put_nowait(frame)
        except asyncio.QueueFull:
            log.warning("websocket client too slow; closing it")
            self.close_soon(SLOW_CLIENT_CLOSE)

    def send(self, message: dict[str, Any]) -> None:
        self.enqueue(_dumps(message))

    def close_soon(self, code: int = 1000, farewell: str | None = None) -> None:
        """Send ``farewell`` (if any), then close; safe to call from sync code."""
        if self._closing:
            return
        if farewell is not None and not self.silent:
            with contextlib.suppress(asyncio.QueueFull):
                self._outgoing.put_nowait(farewell)
        self._closing = True
        self.close_code = code
        while True:
            try:
                self._outgoing.put_nowait(None)
                break
            except asyncio.QueueFull:
                self._outgoing.get_nowait()

    async def _writer(self) -> None:
        while True:
            frame = await self._outgoing.get()
            if frame is None:
                break
            if self.silent:
                continue
            await self._ws.send_text(frame)
        if self._ws.application_state is WebSocketState.CONNECTED:
            await self._ws.close(self.close_code or 1000)

    # ----------------------------------------------------------------- input

    async def run(self) -> None:
        sim = self._sim
        writer = asyncio.create_task(self._writer())
        pinger: asyncio.Task[None] | None = None
        sim.hub.attach(self)
        try:
            if await self._await_login():
                pinger = asyncio.create_task(self._pinger())
                while not self._closing:
                    self._handle(await self._ws.receive_text())
        except (WebSocketDisconnect, RuntimeError):
            pass  # the client left, or the writer closed the socket under us
        finally:
            sim.hub.detach(self)
            if pinger is not None:
                pinger.cancel()
            self.close_soon()
            with contextlib.suppress(Exception):
                await writer

    async def _await_login(self) -> bool:
        grace = self._sim.config.websocket.login_grace_seconds
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while self.key is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                self.close_soon(1000, system_frame(SystemCode.LOGIN_MISSING))
                return False
            try:
                raw = await asyncio.wait_for(self._ws.receive_text(), remaining)
            except TimeoutError:
                continue
            message = self._parse(raw)
            if message is None:
                continue
            if message.get("trnm") == Trnm.LOGIN and not self._login(message):
                return False
        return True

    def _parse(self, raw: str) -> dict[str, Any] | None:
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            log.debug("ignoring a frame that is not JSON")
            return None
        return message if isinstance(message, dict) else None

    def _login(self, message: dict[str, Any]) -> bool:
        sim = self._sim
        token = message.get("token")
        issued = sim.tokens.resolve(token) if isinstance(token, str) else None
        if issued is None:
            self.close_soon(
                1000,
                _dumps(
                    {
                        "trnm": Trnm.LOGIN,
                        "return_code": LOGIN_FAILED_CODE,
                        "return_msg": LOGIN_FAILED_MESSAGE,
                    }
                ),
            )
            return False
        if sim.config.websocket.single_session_per_key:
            for other in sim.sessions_for(issued.key.app_key):
                if other is not self:
                    other.close_soon(1000, system_frame(SystemCode.DUPLICATE_SESSION))
        self.key = issued.key
        if sim.config.system_frame_on_login:
            self.send(
                {
                    "trnm": Trnm.SYSTEM,
                    "code": "R10000",
                    "message": "실시간 시세 서버에 접속되었습니다",
                }
            )
        self.send({"trnm": Trnm.LOGIN, "return_code": 0, "return_msg": "", "sor_yn": "Y"})
        return True

    def _handle(self, raw: str) -> None:
        message = self._parse(raw)
        if message is None:
            return
        trnm = message.get("trnm")
        if trnm == Trnm.PING:
            self.awaiting_echo = False
            self.missed_pings = 0
        elif trnm in (Trnm.REG, Trnm.REMOVE):
            self._register(str(trnm), message)
        elif trnm == Trnm.LOGIN:
            self._login(message)
        elif trnm in (Trnm.CNSRLST, Trnm.CNSRREQ, Trnm.CNSRCLR):
            self.send(
                {"trnm": trnm, "return_code": 1, "return_msg": "조건검색은 제공하지 않습니다"}
            )
        else:
            self.send({"trnm": trnm or "", "return_code": 1, "return_msg": "알 수 없는 요청입니다"})

    def _register(self, trnm: str, message: dict[str, Any]) -> None:
        self._sim.ws_messages[trnm] += 1
        try:
            group, wanted = self._registrations(message)
        except RegistrationError as exc:
            self.send({"trnm": trnm, "return_code": 1, "return_msg": str(exc)})
            return
        self._sim.ws_items[trnm] += sum(
            1 for _, type_code in wanted if type_code not in ACCOUNT_TYPES
        )
        current = self.groups.setdefault(group, set())
        if trnm == Trnm.REMOVE:
            if wanted:
                current.difference_update(wanted)
            else:
                current.clear()
        else:
            merged = wanted if str(message.get("refresh", "1")) == "0" else current | wanted
            market_items = {item for item, type_code in merged if type_code not in ACCOUNT_TYPES}
            if len(market_items) > self._sim.config.websocket.max_items_per_group:
                self.send({"trnm": trnm, "return_code": 1, "return_msg": "등록 종목수 초과"})
                return
            self.groups[group] = set(merged)
        if not self.groups[group]:
            del self.groups[group]
        self.signature = frozenset().union(*self.groups.values()) if self.groups else frozenset()
        self.account_types = frozenset(t for _, t in self.signature if t in ACCOUNT_TYPES)
        self._sim.hub.reindex()
        self.send({"trnm": trnm, "return_code": 0, "return_msg": ""})

    def _registrations(self, message: dict[str, Any]) -> tuple[str, set[Registration]]:
        group = str(message.get("grp_no", "")).strip()
        if not group or len(group) > 4:
            raise RegistrationError("grp_no 값이 올바르지 않습니다")
        refresh = str(message.get("refresh", "1"))
        if refresh not in ("0", "1"):
            raise RegistrationError("refresh 값이 올바르지 않습니다")
        data = message.get("data", [])
        if not isinstance(data, list):
            raise RegistrationError("data 형식이 올바르지 않습니다")
        wanted: set[Registration] = set()
        for entry in data:
            if not isinstance(entry, dict):
                raise RegistrationError("data 형식이 올바르지 않습니다")
            items, types = _strings(entry.get("item", [])), _strings(entry.get("type", []))
            if types is None or not types or items is None:
                raise RegistrationError("item/type 형식이 올바르지 않습니다")
            for type_code in types:
                if type_code not in REALTIME_TYPES:
                    raise RegistrationError(f"실시간 항목 오류: {type_code}")
                if type_code in ACCOUNT_TYPES:
                    wanted.add(("", type_code))
                    continue
                for item in items:
                    self._check_item(item)
                    wanted.add((item, type_code))
        return group, wanted

    def _check_item(self, item: str) -> None:
        code, exchange = split_stock_code(item)
        if exchange is not Exchange.KRX and self._sim.config.mode is Mode.MOCK:
            raise RegistrationError(f"모의투자는 KRX만 가능합니다: {item}")
        if code not in self._sim.listings:
            raise RegistrationError(f"종목코드 오류: {item}")

    async def _pinger(self) -> None:
        config = self._sim.config.websocket
        while not self._closing:
            await asyncio.sleep(config.ping_interval_seconds)
            if self.silent:
                continue  # a silenced socket sends no PING, so none can be missed
            if self.awaiting_echo:
                self.missed_pings += 1
            if self.missed_pings >= config.max_missed_pings:
                self.close_soon(1000, system_frame(SystemCode.HEARTBEAT_MISSED))
                return
            self.awaiting_echo = True
            self.send({"trnm": Trnm.PING})


def _strings(value: object) -> list[str] | None:
    """``item``/``type`` are string arrays; a bare string (the Excel example's
    flattening) is taken as one element, an empty string as none."""
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v for v in value if v]
    return None


async def websocket_endpoint(websocket: WebSocket) -> None:
    sim: Simulator = websocket.app.state.sim
    await websocket.accept()
    session = Session(sim, websocket)
    await session.run()
