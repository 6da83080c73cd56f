"""``quantum run``: the platform under uvicorn."""

from __future__ import annotations

import logging
from collections.abc import Callable

import uvicorn

from quantum import eventloop
from quantum.platform.app import create_platform_app
from quantum.platform.core import Platform
from quantum.platform.demo import ensure_demo
from quantum.platform.settings import PlatformSettings
from quantum.serving import SERVICE_OPTIONS

log = logging.getLogger(__name__)


def serve(
    settings: PlatformSettings,
    host: str,
    port: int,
    *,
    demo: bool = False,
    announce: Callable[[str], None] = print,
) -> None:
    async def main() -> None:
        platform = await Platform.start(settings)
        try:
            if demo:
                logins = await ensure_demo(platform)
                announce("Demo sign-in (simulated market, no real money):")
                for line in logins.lines:
                    announce(line)
            # The app's shutdown closes the platform: uvicorn ends a SIGTERM'd process
            # right after its own shutdown, so code after serve() would never run.
            app = create_platform_app(settings, platform=platform, close_platform=True)
        except BaseException:
            await platform.aclose()
            raise
        eventloop.settle_heap()
        announce(f"Quantum Trading Platform on http://{host}:{port}  (API docs: /docs)")
        config = uvicorn.Config(app, host=host, port=port, log_level="info", **SERVICE_OPTIONS)
        await uvicorn.Server(config).serve()

    eventloop.run(main())
