"""The web processes: the API and the media server apart (production) or in one uvicorn (embedded)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from frontdesk.api.app import create_app as create_api_app
from frontdesk.config import Settings
from frontdesk.realtime.app import create_app as create_realtime_app


def _serve(app: FastAPI, host: str, port: int) -> None:
    # log_config=None: uvicorn's loggers go through our structured logging, not its own handlers.
    uvicorn.run(app, host=host, port=port, log_config=None, proxy_headers=True)


def serve_api(settings: Settings) -> None:
    """Run the API on settings.api_host:settings.api_port until SIGINT/SIGTERM."""
    _serve(create_api_app(settings), settings.api_host, settings.api_port)


def serve_realtime(settings: Settings) -> None:
    """Run the media server on settings.api_host:settings.realtime_port until SIGINT/SIGTERM."""
    _serve(create_realtime_app(settings), settings.api_host, settings.realtime_port)


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
    _serve(create_embedded_app(settings), settings.api_host, settings.api_port)
