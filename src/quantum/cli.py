"""The ``quantum`` command line."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Annotated

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
    """Run the broker adapter (Kiwoom keys from the KIWOOM_* environment)."""
    from quantum.adapter.server import serve
    from quantum.kiwoom.settings import KiwoomSettings

    settings = KiwoomSettings()
    typer.echo(
        f"Kiwoom adapter ({settings.environment.value}, key {settings.key_fingerprint}) "
        f"on http://{host}:{port}  (OpenAPI: /docs)"
    )
    serve(host, port, settings)


if __name__ == "__main__":
    app()
