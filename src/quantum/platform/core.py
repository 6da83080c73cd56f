"""Assembling the platform: storage, keys, services and the broker, started and
stopped as one (the app's lifespan, the CLI and the tests all use this)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from quantum.adapter.broker import Broker
from quantum.adapter.schema import Environment
from quantum.krx import sessions as krx_sessions
from quantum.metrics import chain_observers
from quantum.platform.brokerage import build_broker
from quantum.platform.bus import Bus
from quantum.platform.cluster.invalidations import Invalidations
from quantum.platform.cluster.shared import Cluster
from quantum.platform.db.engine import create_engine, session_factory
from quantum.platform.db.migrate import upgrade
from quantum.platform.db.units import Units, units_for
from quantum.platform.embedded import (
    EmbeddedSimulator,
    follow_simulator_clock,
    simulator_config,
)
from quantum.platform.market.service import MarketService
from quantum.platform.metrics import PlatformMetrics
from quantum.platform.security.crypto import Keyring, load_or_create_keyring
from quantum.platform.security.jwt_tokens import JwtCodec, load_or_create_jwt_secret
from quantum.platform.security.login_limits import LoginLimiter
from quantum.platform.security.passwords import Passwords
from quantum.platform.services.accounts import AccountService
from quantum.platform.services.auth import AuthService
from quantum.platform.services.token_store import DatabaseTokenCache
from quantum.platform.services.usage import UsageRecorder
from quantum.platform.services.usage_report import UsageReports
from quantum.platform.services.users import UserService
from quantum.platform.settings import PlatformSettings
from quantum.platform.trading.reconcile import Reconciler
from quantum.platform.trading.reports import OrderReports
from quantum.platform.trading.service import OrderService
from quantum.platform.trading.store import OrderStore
from quantum.platform.trading.supervisor import TradingSupervisor

log = logging.getLogger(__name__)


def load_keyring(settings: PlatformSettings) -> Keyring:
    spec = settings.encryption_keys.get_secret_value() if settings.encryption_keys else None
    if spec is None and settings.production:
        raise ValueError("QTP_ENCRYPTION_KEYS must be set in production mode")
    return load_or_create_keyring(spec, settings.data_dir / "encryption.keys")


def login_storage(settings: PlatformSettings) -> tuple[str, dict[str, str]]:
    """Where login attempts are counted: Redis when instances share it (an attacker
    spreading guesses over instances gets no more), else in memory."""
    if not settings.redis_url:
        return "async+memory://", {}
    options = {"implementation": "redispy", "key_prefix": f"{settings.redis_prefix}login"}
    return f"async+{settings.redis_url}", options


@dataclass
class Platform:
    settings: PlatformSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    units: Units
    """The hot paths' writes and reads (orders, usage log): see db/units.py."""
    keyring: Keyring
    users: UserService
    auth: AuthService
    accounts: AccountService
    usage: UsageRecorder
    reports: UsageReports
    token_cache: DatabaseTokenCache
    broker: Broker
    cluster: Cluster
    simulator: EmbeddedSimulator | None = None
    metrics: PlatformMetrics = field(default_factory=PlatformMetrics)
    market: MarketService = field(init=False)
    bus: Bus = field(init=False)
    orders: OrderService = field(init=False)
    supervisor: TradingSupervisor = field(init=False)
    invalidations: Invalidations = field(init=False)

    @classmethod
    async def start(
        cls,
        settings: PlatformSettings,
        *,
        migrate: bool = True,
        supervise: bool = True,
        simulator_clock: Callable[[], datetime] | None = None,
    ) -> Platform:
        """``simulator_clock``: the time of a simulator given by ``QTP_SIMULATOR_URL``
        (the built-in one's is known); default: the wall clock."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        keyring = load_keyring(settings)
        secret = load_or_create_jwt_secret(
            settings.jwt_secret.get_secret_value() if settings.jwt_secret else None,
            settings.data_dir / "jwt.secret",
            production=settings.production,
        )
        engine = create_engine(
            settings.resolved_database_url(),
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        if migrate:
            await upgrade(engine)
        if supervise:  # a serving platform, not a CLI maintenance command
            await asyncio.to_thread(krx_sessions.preload)
        sessions = session_factory(engine)
        units = units_for(engine, change_connections=settings.db_write_pool_size)
        passwords = Passwords(
            time_cost=settings.password_time_cost, memory_cost=settings.password_memory_cost
        )
        codec = JwtCodec(secret, access_ttl=timedelta(minutes=settings.access_token_minutes))
        storage_uri, storage_options = login_storage(settings)
        limiter = LoginLimiter(
            storage_uri,
            per_username=settings.login_limit_per_username,
            per_client=settings.login_limit_per_client,
            **storage_options,
        )
        simulator = None
        simulator_url = settings.simulator_url
        if simulator_url is None and settings.simulator is not False:
            simulator = EmbeddedSimulator.start(simulator_config(settings))
            simulator_url = simulator.url
            simulator_clock = simulator.clock
        elif simulator_url is not None and simulator_clock is None:
            simulator_clock = follow_simulator_clock(simulator_url)
            log.info("following the clock of the simulator on %s", simulator_url)
        usage = UsageRecorder(
            units,
            flush_seconds=settings.usage_flush_seconds,
            batch_size=settings.usage_batch_size,
        )
        cluster = Cluster(
            settings.redis_url, prefix=settings.redis_prefix, lease_seconds=settings.lease_seconds
        )
        if cluster.shared and not settings.adapter_url:
            log.warning(
                "REDIS_URL without KIWOOM_ADAPTER_URL: each instance opens its own realtime "
                "socket per app key; run one adapter for them all (docs/platform.md)"
            )
        token_cache = DatabaseTokenCache(
            sessions, keyring, shared_lock=cluster.lock if cluster.shared else None
        )
        metrics = PlatformMetrics()
        broker = build_broker(
            adapter_url=settings.adapter_url,
            simulator_url=simulator_url,
            token_cache=token_cache,
            observer=chain_observers(usage.observe, metrics.calls.observe),
            quote_ttl=settings.quote_ttl_seconds,
            simulator_clock=simulator_clock,
            limiter_for=cluster.limiter if cluster.shared else None,
        )
        metrics.watch(broker)
        users = UserService(sessions, passwords)
        platform = cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            units=units,
            keyring=keyring,
            users=users,
            auth=AuthService(
                sessions,
                passwords,
                codec,
                limiter,
                refresh_ttl=timedelta(days=settings.refresh_token_days),
            ),
            accounts=AccountService(sessions, keyring, broker),
            usage=usage,
            reports=UsageReports(sessions),
            token_cache=token_cache,
            broker=broker,
            cluster=cluster,
            simulator=simulator,
            metrics=metrics,
        )
        platform.market = MarketService(broker)
        platform.bus = cluster.bus()
        clocks = {Environment.SIMULATOR: simulator_clock} if simulator_clock else {}
        platform.orders = OrderService(
            OrderStore(units), broker, platform.bus, market_clocks=clocks
        )
        reconciler = Reconciler(
            platform.orders, unknown_grace=timedelta(seconds=settings.reconcile_grace_seconds)
        )
        platform.supervisor = TradingSupervisor(
            reconciler,
            platform.orders.store,
            platform.accounts,
            reports=OrderReports(platform.orders, reconciler) if settings.order_stream else None,
            poll_seconds=settings.reconcile_poll_seconds,
            lease=cluster.lease("order-supervision"),
            bus=platform.bus,
        )
        platform.orders.on_working = platform.supervisor.watch
        platform.orders.observe_stage = metrics.observe_stage
        platform.invalidations = Invalidations(
            platform.bus,
            drop_principal=platform.auth.forget,
            drop_accounts=platform.accounts.drop_cached,
        )
        platform.accounts.on_change = platform.invalidations.accounts_changed
        await platform.invalidations.start()
        usage.start()
        if settings.admin_username and settings.admin_password:
            created = await users.ensure_admin(
                settings.admin_username, settings.admin_password.get_secret_value()
            )
            if created:
                log.info("created the first admin %r", settings.admin_username)
        if supervise:
            await platform.supervisor.start()
        return platform

    @classmethod
    @asynccontextmanager
    async def offline(cls, settings: PlatformSettings) -> AsyncIterator[Platform]:
        """The services without the simulator or a server (CLI maintenance)."""
        platform = await cls.start(
            settings.model_copy(update={"simulator": False}), supervise=False
        )
        try:
            yield platform
        finally:
            await platform.aclose()

    async def database_ok(self) -> bool:
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:
            log.warning("database check failed: %s", type(exc).__name__)
            return False
        return True

    async def aclose(self) -> None:
        """Broker first (no new Kiwoom calls), then the usage log's last rows, then
        the database and the simulator."""
        try:
            await self.supervisor.aclose()
            await self.orders.ledger.aclose()
            await self.invalidations.aclose()
            await self.bus.aclose()
            await self.broker.close()
        finally:
            await self.usage.aclose()
            await self.cluster.aclose()
            await self.units.aclose()
            await self.engine.dispose()
            if self.simulator is not None:
                self.simulator.stop()
            log.info("platform stopped (usage log flushed, lease handed back)")
