"""Run the simulator under uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from quantum.eventloop import settle_heap
from quantum.serving import KEEP_ALIVE_SECONDS
from quantum.simulator.app import create_app
from quantum.simulator.config import SimulatorConfig

log = logging.getLogger(__name__)


def serve(config: SimulatorConfig) -> None:
    app = create_app(config)
    settle_heap()
    uvicorn.run(
        app,
        host=config.host,
        port=config.port,
        loop="auto",
        http="auto",
        ws="websockets-sansio",
        access_log=False,
        log_level="info",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=5,
    )
