"""The web processes: the API and the media server apart (production) or in one uvicorn (embedded).

The media server drains on SIGTERM (a deploy): `DrainingServer` marks its live calls draining (not
ready, no new stream: realtime/live_calls.py), waits until the last call has ended or the drain
timeout has passed, then shuts down as uvicorn does. A second SIGTERM, or SIGINT, stops it at once.
"""

import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import FrameType

import uvicorn
from fastapi import FastAPI
from uvicorn.server import STARTUP_FAILURE

from frontdesk.api.app import create_app as create_api_app
from frontdesk.config import Settings
from frontdesk.logs import get_logger
from frontdesk.realtime.app import create_app as create_realtime_app
from frontdesk.realtime.live_calls import LiveCalls
from frontdesk.tracing import configure_tracing

log = get_logger(__name__)


def _config(app: FastAPI, host: str, port: int) -> uvicorn.Config:
    # log_config=None: uvicorn's loggers go through our structured logging, not its own handlers.
    # No permessage-deflate on the media socket: mu-law audio does not compress, and a client
    # that offers it (Twilio does not) would have every 20 ms frame deflated and inflated.
    return uvicorn.Config(
        app, host=host, port=port, log_config=None, proxy_headers=True, ws_per_message_deflate=False
    )


def _serve(app: FastAPI, host: str, port: int) -> None:
    _run(uvicorn.Server(_config(app, host, port)))


def _run(server: uvicorn.Server, sockets: list[socket.socket] | None = None) -> None:
    server.run(sockets=sockets)
    if not server.started:
        sys.exit(STARTUP_FAILURE)  # as uvicorn.run does: a port taken, an app that failed to start


class DrainingServer(uvicorn.Server):
    """A uvicorn server that drains its live calls on SIGTERM before it shuts down."""

    def __init__(self, config: uvicorn.Config, live_calls: LiveCalls, timeout_s: float) -> None:
        super().__init__(config)
        self._live_calls = live_calls
        self._timeout_s = timeout_s
        self._drain_from: float | None = None  # when SIGTERM asked for the drain

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # A signal handler: only note the request; the event loop acts on it in on_tick.
        if sig == signal.SIGTERM and self._drain_from is None and not self.should_exit:
            self._drain_from = time.monotonic()
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        """Every 0.1 s: while draining, exit once no call is left or the timeout has passed."""
        if self._drain_from is not None and not self.should_exit:
            if not self._live_calls.draining:
                self._live_calls.drain()
                log.info("media.draining", live_calls=self._live_calls.count)
            waited = time.monotonic() - self._drain_from
            if self._live_calls.count == 0 or waited >= self._timeout_s:
                log.info("media.drained", live_calls=self._live_calls.count, waited_s=round(waited, 1))
                # uvicorn's own shutdown now, ending with the SIGTERM as the exit status as usual.
                super().handle_exit(signal.SIGTERM, None)
        return await super().on_tick(counter)


def serve_api(settings: Settings) -> None:
    """Run the API on settings.api_host:settings.api_port until SIGINT/SIGTERM."""
    configure_tracing(settings, "api")
    _serve(create_api_app(settings), settings.api_host, settings.api_port)


def serve_realtime(settings: Settings, sock: socket.socket | None = None) -> None:
    """Run the media server on settings.api_host:settings.realtime_port until SIGINT, or until
    SIGTERM and the drain of its live calls. `sock`: a socket bound to that address and not yet
    listening, shared with other media processes (devstack/media_processes.py); it listens once
    the app has started, so no call waits on a process still loading its models."""
    configure_tracing(settings, "realtime")
    app = create_realtime_app(settings)
    config = _config(app, settings.api_host, settings.realtime_port)
    server = DrainingServer(config, app.state.live_calls, settings.realtime_drain_timeout_seconds)
    _run(server, [sock] if sock is not None else None)


def create_embedded_app(settings: Settings) -> FastAPI:
    """The API app with the media server's routes behind it, for one port in `frontdesk dev`.

    The API's routes match first (both apps have /healthz); every other path, such as the media
    WebSocket, falls through to the media app.
    """
    api = create_api_app(settings)
    media = create_realtime_app(settings)
    api_lifespan = api.router.lifespan_context

    # Starlette runs no lifespan for a mounted app, so the media app's runs inside the API's.
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with api_lifespan(app), media.router.lifespan_context(media):
            yield

    api.router.lifespan_context = lifespan
    api.mount("/", media)
    return api


def serve_embedded(settings: Settings) -> None:
    """Run the API and the media server together on settings.api_host:settings.api_port."""
    configure_tracing(settings, "web")
    _serve(create_embedded_app(settings), settings.api_host, settings.api_port)
