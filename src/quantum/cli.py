"""The ``quantum`` command line."""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from quantum.simulator.clock import ClockMode
from quantum.simulator.config import Mode, load_config

app = typer.Typer(
    help="Quantum Trading Platform: Kiwoom trading platform and exchange simulator.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _parse_start(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO-8601 time: {value}") from exc


@app.command()
def simulator(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port for REST and WebSocket.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the simulated market.")] = None,
    mode: Annotated[
        Mode | None, typer.Option(help="Imitate Kiwoom's production or mock host.")
    ] = None,
    clock: Annotated[
        ClockMode | None, typer.Option(help="real, fast (compressed) or fixed.")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(help="Simulated start time, ISO-8601 (KST if no offset). Default: now."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="TOML or JSON config file."),
    ] = None,
) -> None:
    """Run the Kiwoom-compatible exchange simulator (default http://127.0.0.1:8200)."""
    from quantum.simulator.server import serve

    settings = load_config(
        config,
        host=host,
        port=port,
        seed=seed,
        mode=mode,
        clock=clock,
        start=_parse_start(start),
    )
    typer.echo(
        f"Kiwoom simulator ({settings.mode.value}, clock {settings.clock.value}, "
        f"seed {settings.seed}) on http://{settings.host}:{settings.port}\n"
        f"  REST  POST /oauth2/token, POST /api/dostk/{{category}} (api-id header)\n"
        f"  WS    ws://{settings.host}:{settings.port}/api/dostk/websocket"
    )
    serve(settings)


@app.command()
def adapter(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the adapter API.")] = 8100,
) -> None:
    """Run the broker adapter (Kiwoom keys from the KIWOOM_* environment; with
    REDIS_URL, rate budgets shared with other adapters and platform instances)."""
    from quantum.adapter.server import serve
    from quantum.kiwoom.settings import KiwoomSettings

    settings = KiwoomSettings()
    typer.echo(
        f"Kiwoom adapter ({settings.environment.value}, key {settings.key_fingerprint}) "
        f"on http://{host}:{port}  (OpenAPI: /docs)"
    )
    serve(
        host,
        port,
        settings,
        redis_url=os.environ.get("REDIS_URL") or None,
        redis_prefix=os.environ.get("QTP_REDIS_PREFIX", "qtp:"),
    )


@app.command()
def run(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the platform API and dashboard.")] = 8080,
    data_dir: Annotated[
        Path | None, typer.Option(help="Database, generated keys (default ./data).")
    ] = None,
    demo: Annotated[
        bool, typer.Option(help="Create (once) a demo trader on the simulator and show its login.")
    ] = False,
) -> None:
    """Run the platform (in-process adapter; the built-in simulator for SIMULATOR accounts)."""
    from quantum.platform.server import serve

    settings = _platform_settings(data_dir)
    if demo and settings.simulator_start is None:
        from datetime import UTC

        from quantum.platform.demo import demo_start

        start = demo_start(datetime.now(UTC))
        if start is not None:
            typer.echo(f"KRX is closed now: the demo market starts at {start.isoformat()}")
            settings = settings.model_copy(update={"simulator_start": start})
    serve(settings, host, port, demo=demo, announce=typer.echo)


def _platform_settings(data_dir: Path | None) -> Any:
    from quantum.platform.settings import PlatformSettings

    settings = PlatformSettings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    return settings


db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
admin_app = typer.Typer(help="Administration: users and encryption keys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(admin_app, name="admin")


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    data_dir: Annotated[Path | None, typer.Option(help="Data dir (SQLite default).")] = None,
) -> None:
    """Migrate the database (DATABASE_URL, or SQLite under the data dir) to REVISION."""
    import asyncio

    from quantum.platform.db.engine import create_engine
    from quantum.platform.db.migrate import current_revision, upgrade

    settings = _platform_settings(data_dir)

    async def main() -> str | None:
        engine = create_engine(settings.resolved_database_url())
        try:
            await upgrade(engine, revision)
            return await current_revision(engine)
        finally:
            await engine.dispose()

    typer.echo(f"database at revision {asyncio.run(main())}")


@admin_app.command("create-user")
def create_user(
    username: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Option(help="USER or ADMIN.")] = "USER",
    user_id: Annotated[str | None, typer.Option(help="Id such as USER_001.")] = None,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
    data_dir: Annotated[Path | None, typer.Option()] = None,
) -> None:
    """Create a user (the password is asked for, never echoed)."""
    import asyncio

    from quantum.platform.errors import ApiError
    from quantum.platform.services.users import Role

    settings = _platform_settings(data_dir)

    from quantum.platform.core import Platform

    async def main() -> str:
        async with Platform.offline(settings) as platform:
            user = await platform.users.create(
                username, password, Role(role.upper()), user_id=user_id
            )
            return user.user_id

    try:
        typer.echo(f"created {role.upper()} {username} ({asyncio.run(main())})")
    except ApiError as exc:
        raise typer.BadParameter(exc.message) from None


@admin_app.command("rotate-keys")
def rotate_keys(data_dir: Annotated[Path | None, typer.Option()] = None) -> None:
    """Re-encrypt stored app keys, secrets and Kiwoom tokens under the first key of
    QTP_ENCRYPTION_KEYS (add the new key first, keep the old ones until this ran)."""
    import asyncio

    from quantum.platform.core import Platform

    settings = _platform_settings(data_dir)

    async def main() -> tuple[int, int]:
        async with Platform.offline(settings) as platform:
            accounts = await platform.accounts.rotate_keys()
            tokens = await platform.token_cache.reseal_all()
            return accounts, tokens

    accounts, tokens = asyncio.run(main())
    typer.echo(f"re-encrypted {accounts} account key pairs and {tokens} tokens")


@admin_app.command("rebuild-projections")
def rebuild_projections(data_dir: Annotated[Path | None, typer.Option()] = None) -> None:
    """Rebuild ``order_view`` from ``order_events`` (the events are the truth; run it
    with the platform stopped)."""
    import asyncio

    from quantum.platform.core import Platform

    settings = _platform_settings(data_dir)

    async def main() -> int:
        async with Platform.offline(settings) as platform:
            return await platform.orders.store.rebuild()

    typer.echo(f"rebuilt {asyncio.run(main())} order views from their events")


@admin_app.command("generate-key")
def generate_key() -> None:
    """Print a new ``key_id:base64`` entry to put first in QTP_ENCRYPTION_KEYS."""
    from quantum.platform.security.crypto import Keyring

    typer.echo(Keyring.generate().to_spec())


if __name__ == "__main__":
    app()
