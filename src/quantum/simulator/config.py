"""Simulator settings: one pydantic model, loaded from an optional TOML or JSON
file and overridden by command-line options."""

from __future__ import annotations

import json
import tomllib
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from quantum.simulator.clock import ClockMode
from quantum.simulator.faults import FaultRule


class Mode(StrEnum):
    """Which Kiwoom host the simulator imitates (PROTOCOL.md §9)."""

    PRODUCTION = "production"
    MOCK = "mock"


DEFAULT_RATE_PER_SECOND: dict[Mode, float] = {Mode.PRODUCTION: 5.0, Mode.MOCK: 1.0}
"""Per (app key, api-id) budgets: 5/s production, 1/s mock (PROTOCOL.md §5)."""


class RateLimitConfig(BaseModel):
    enabled: bool = True
    per_second: float | None = Field(default=None, gt=0, description="default by mode")
    burst: float | None = Field(default=None, gt=0, description="default: per_second")
    global_per_second: float | None = Field(default=None, gt=0, description="1701 budget")


class WebSocketConfig(BaseModel):
    login_grace_seconds: float = Field(default=10.0, gt=0)
    ping_interval_seconds: float = Field(default=10.0, gt=0)
    max_missed_pings: int = Field(default=5, ge=1)
    push_interval_seconds: float = Field(default=0.05, gt=0)
    max_items_per_group: int = Field(default=100, ge=1)
    single_session_per_key: bool = False
    system_frame_on_login: bool | None = Field(
        default=None, description="SYSTEM frame before the LOGIN answer; default: production"
    )


class FeeConfig(BaseModel):
    commission_rate: Decimal = Decimal("0.00015")
    sell_tax_rate: Decimal = Decimal("0.0020")
    commission_unit: int = Field(default=10, ge=1)


class KeyEntry(BaseModel):
    """One allowed app key (from a key file)."""

    appkey: str = Field(min_length=1)
    secretkey: str = Field(min_length=1)
    mode: Mode | None = None
    cash: int | None = Field(default=None, ge=0)


class SimulatorConfig(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8200, ge=0, le=65535)
    seed: int = 42
    mode: Mode = Mode.PRODUCTION
    clock: ClockMode = ClockMode.REAL
    clock_speed: float = Field(default=60.0, gt=0, description="speed of the fast clock")
    start: datetime | None = None
    token_lifetime_seconds: float = Field(default=86_400.0, gt=0)
    starting_cash: int = Field(default=100_000_000, ge=0)
    key_file: Path | None = None
    step_seconds: float = Field(default=1.0, gt=0)
    liquidity_scale: float = Field(default=1.0, gt=0)
    history_years: int = Field(default=5, ge=1, le=20)
    lost_response_seconds: float = Field(default=30.0, ge=0)
    rate_limit: RateLimitConfig = RateLimitConfig()
    websocket: WebSocketConfig = WebSocketConfig()
    fees: FeeConfig = FeeConfig()
    faults: list[FaultRule] = Field(default_factory=list)

    @property
    def rate_per_second(self) -> float:
        return self.rate_limit.per_second or DEFAULT_RATE_PER_SECOND[self.mode]

    @property
    def system_frame_on_login(self) -> bool:
        explicit = self.websocket.system_frame_on_login
        return self.mode is Mode.PRODUCTION if explicit is None else explicit


def read_mapping(path: Path) -> dict[str, Any]:
    """A TOML (``.toml``) or JSON file as a dict."""
    text = path.read_text(encoding="utf-8")
    data: Any = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a table/object at the top level")
    return data


def load_config(path: Path | None = None, **overrides: Any) -> SimulatorConfig:
    """File values first, then the non-None overrides (command-line options)."""
    data: dict[str, Any] = read_mapping(path) if path is not None else {}
    data.update({key: value for key, value in overrides.items() if value is not None})
    return SimulatorConfig.model_validate(data)


def load_key_file(path: Path) -> list[KeyEntry]:
    """A key file: ``{"keys": [{"appkey": ..., "secretkey": ..., "cash": ...}]}``."""
    entries = read_mapping(path).get("keys", [])
    return [KeyEntry.model_validate(entry) for entry in entries]
