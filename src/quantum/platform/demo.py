"""``quantum run --demo``: a ready-to-trade user on the built-in simulator, created once."""

from __future__ import annotations

import contextlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, time

from quantum.kiwoom.wire import KST
from quantum.krx.sessions import KrxCalendar
from quantum.platform.core import Platform
from quantum.platform.errors import Conflict
from quantum.platform.services.accounts import AccountEnvironment
from quantum.platform.trading.checks import ORDER_PHASES

log = logging.getLogger(__name__)

DEMO_USER_ID = "USER_DEMO"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-trader-1"
DEMO_ADMIN_USERNAME = "admin"
DEMO_ADMIN_PASSWORD = "demo-admin-1"
DEMO_ACCOUNT_ID = "KIWOOM_ACC_DEMO"


def demo_start(now: datetime, calendar: KrxCalendar | None = None) -> datetime | None:
    """Where the demo's simulated market starts when KRX is closed now: 09:00 KST of
    the latest trading day, so a newcomer can trade at any hour (None: it is open)."""
    calendar = calendar or KrxCalendar()
    if calendar.phases_at(now) & ORDER_PHASES:
        return None
    day = now.astimezone(KST).date()
    schedule = calendar.schedule(day)
    if schedule is None or now < schedule.open:
        day = calendar.previous_trading_day(day)
    return datetime.combine(day, time(9, 0), tzinfo=KST)


@dataclass(frozen=True)
class DemoLogins:
    created: bool
    lines: tuple[str, ...]


async def ensure_demo(platform: Platform) -> DemoLogins:
    """The demo trader with a SIMULATOR account and a key pair (random, kept in the
    database, so the simulator gives it the same account on every start), and an
    admin unless ``QTP_ADMIN_USERNAME`` names one. Known passwords: demo use only."""
    if platform.simulator is None and platform.settings.simulator_url is None:
        raise RuntimeError("--demo needs the simulator (QTP_SIMULATOR must not be false)")
    created = False
    if await platform.users.find(DEMO_USER_ID) is None:
        try:
            await platform.users.create(DEMO_USERNAME, DEMO_PASSWORD, user_id=DEMO_USER_ID)
            created = True
        except Conflict:
            pass
    if not platform.settings.admin_username:
        await platform.users.ensure_admin(DEMO_ADMIN_USERNAME, DEMO_ADMIN_PASSWORD)
    with contextlib.suppress(Conflict):
        await platform.accounts.create(
            AccountEnvironment.SIMULATOR,
            account_id=DEMO_ACCOUNT_ID,
            display_name="Demo (simulator)",
        )
    state = await platform.accounts.get(DEMO_ACCOUNT_ID)
    if state.user_id is None:
        await platform.accounts.assign(DEMO_ACCOUNT_ID, DEMO_USER_ID, actor=None)
    if not state.has_credentials:
        await platform.accounts.update_credentials(
            DEMO_USER_ID, f"DEMO{secrets.token_hex(16)}", secrets.token_hex(24)
        )
    lines = [f"  trader: {DEMO_USERNAME} / {DEMO_PASSWORD}  (account {DEMO_ACCOUNT_ID})"]
    if not platform.settings.admin_username:
        lines.append(f"  admin:  {DEMO_ADMIN_USERNAME} / {DEMO_ADMIN_PASSWORD}")
    return DemoLogins(created, tuple(lines))
